"""Google Workspace push endpoint (`POST /webhooks/google/<directory>`) and its channels.

Accepted only when `X-Goog-Channel-ID` is a channel we opened, `X-Goog-Channel-Token` its
token and `X-Goog-Resource-ID` its resource (else 401/403, nothing published); `sync` only
confirms, other states note the user and request a delta. Channels live in Redis; one
replica at a time renews them before expiry, each stops its own on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response

from roster.fetcher.connectors.google import DIRECTORY, GoogleConnector
from roster.fetcher.webhooks import Webhook, WebhookContext
from roster.shared.errors import NotFoundError, RosterError

log = structlog.get_logger()
STOP_PATH = "/admin/directory_v1/channels/stop"
LOCK_SECONDS = 60


@dataclass
class ChannelRecord:
    id: str
    token: str
    event: str
    resource_id: str | None = None
    """None until Google answered the watch call (its `sync` message may arrive first)."""
    expiration: float = 0.0
    """Epoch seconds; 0 while the watch call is under way."""
    opened_by: str = ""
    address: str = ""
    """Where the channel delivers; a channel for an old `fetcher.public_url` is replaced."""
    created: float = 0.0
    """Epoch seconds; a watch call unanswered for `LOCK_SECONDS` (a crash) is given up."""


class GoogleChannels:
    """The directory's channels in Redis, and opening / renewing / stopping them."""

    def __init__(self, context: WebhookContext, connector: GoogleConnector, path: str) -> None:
        self.context = context
        self.connector = connector
        self.settings = connector.settings.watch
        self.key = context.keys("fetcher", "google", context.directory.id, "channels")
        self.lock_key = context.keys("fetcher", "google", context.directory.id, "renewing")
        self.address = (context.public_url or "").rstrip("/") + path
        self.instance = uuid.uuid4().hex
        self.now = time.time

    async def get(self, channel_id: str) -> ChannelRecord | None:
        raw = await self.context.redis.hget(self.key, channel_id)
        if raw is None:
            return None
        return ChannelRecord(**json.loads(raw))

    async def all(self) -> list[ChannelRecord]:
        raw = await self.context.redis.hgetall(self.key)
        return [ChannelRecord(**json.loads(v)) for v in raw.values()]

    async def _put(self, record: ChannelRecord) -> None:
        await self.context.redis.hset(self.key, record.id, json.dumps(asdict(record)))

    async def _forget(self, channel_id: str) -> None:
        await self.context.redis.hdel(self.key, channel_id)

    async def open(self, event: str) -> ChannelRecord:
        record = ChannelRecord(
            id=str(uuid.uuid4()), token=secrets.token_urlsafe(32), event=event,
            opened_by=self.instance, address=self.address, created=self.now(),
        )  # fmt: skip
        await self._put(record)  # before the call: Google's `sync` message can beat the answer
        body = {
            "id": record.id,
            "type": "web_hook",
            "address": self.address,
            "token": record.token,
            "params": {"ttl": str(self.settings.ttl_seconds)},
        }
        params = {**self.connector.list_scope(), "event": event}
        try:
            answer = await self.connector.client.request(
                "POST", f"{DIRECTORY}/users/watch", params=params, body=body, kind="watch"
            )
        except BaseException:
            await self._forget(record.id)
            raise
        if not isinstance(answer, dict) or not answer.get("resourceId"):
            await self._forget(record.id)
            raise RosterError("Google answered users.watch without a resourceId")
        record.resource_id = str(answer["resourceId"])
        expiration = answer.get("expiration")
        record.expiration = (
            int(expiration) / 1000 if expiration else self.now() + self.settings.ttl_seconds
        )
        await self._put(record)
        log.info(
            "google channel opened",
            directory=self.context.directory.id,
            watch_event=event,
            channel=record.id,
            expires_in=round(record.expiration - self.now()),
        )
        return record

    async def stop(self, record: ChannelRecord) -> None:
        await self._forget(record.id)
        if record.resource_id is None:
            return
        body = {"id": record.id, "resourceId": record.resource_id}
        with contextlib.suppress(NotFoundError):  # expired or stopped already
            await self.connector.client.request("POST", STOP_PATH, body=body, kind="stop")

    async def renew(self) -> None:
        """Open what is missing or about to expire, stop what it replaces; one replica at a time."""
        redis = self.context.redis
        if not await redis.set(self.lock_key, self.instance, nx=True, ex=LOCK_SECONDS):
            return
        try:
            now = self.now()
            records = await self.all()
            for event in self.settings.events:
                mine = [r for r in records if r.event == event]
                fresh = [r for r in mine if self._fresh(r, now)]
                if not fresh:
                    await self.open(event)
                for old in mine:
                    if old not in fresh:
                        await self.stop(old)
            for r in records:  # leftovers of events no longer configured
                if r.event not in self.settings.events:
                    await self.stop(r)
        finally:
            if await redis.get(self.lock_key) in (self.instance, self.instance.encode()):
                await redis.delete(self.lock_key)

    def _fresh(self, record: ChannelRecord, now: float) -> bool:
        if record.address != self.address:
            return False
        if record.expiration == 0:  # being opened: by another replica, or lost in a crash
            return now - record.created < LOCK_SECONDS
        return record.expiration - now > self.settings.renew_before_seconds

    async def stop_mine(self) -> None:
        for record in await self.all():
            if record.opened_by == self.instance:
                try:
                    await self.stop(record)
                except RosterError as exc:
                    log.warning("google channel stop failed", channel=record.id, error=str(exc))


def google_webhook(context: WebhookContext) -> Webhook:
    connector = context.connector
    if not isinstance(connector, GoogleConnector):
        raise TypeError("the google webhook needs the google connector")
    directory = context.directory.id
    path = f"/webhooks/google/{directory}"
    channels = GoogleChannels(context, connector, path)
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def notification(request: Request) -> Response:
        channel_id = request.headers.get("x-goog-channel-id")
        state = request.headers.get("x-goog-resource-state")
        if not channel_id or not state:
            return Response(status_code=401)
        record = await channels.get(channel_id)
        token = request.headers.get("x-goog-channel-token", "")
        resource = request.headers.get("x-goog-resource-id")
        if (
            record is None
            or not hmac.compare_digest(token.encode(), record.token.encode())
            or (record.resource_id is not None and resource != record.resource_id)
        ):
            log.warning("google notification refused", directory=directory, channel=channel_id)
            return Response(status_code=403)
        if state == "sync":
            return Response(status_code=200)
        user_id = _user_id(await request.body())
        if user_id is not None:
            connector.note_user_change(user_id, state)
        run_id = await context.trigger.request_sync(directory, mode="delta", trigger="webhook")
        log.info("google notification accepted", directory=directory, state=state, run_id=run_id)
        return Response(status_code=200)

    async def keep_channels() -> None:
        settings = connector.settings.watch
        if not settings.enabled:
            return
        if context.public_url is None:
            log.warning("google push disabled: fetcher.public_url is not set", directory=directory)
            return
        try:
            while True:
                try:
                    await channels.renew()
                except Exception as exc:  # noqa: BLE001 - the loop must outlive any failure
                    log.warning(
                        "google channel renewal failed", directory=directory, error=repr(exc)
                    )
                await asyncio.sleep(settings.check_interval_seconds)
        finally:
            await asyncio.shield(channels.stop_mine())

    webhook = Webhook(router=router, background=[keep_channels])
    return webhook


def _user_id(body: bytes) -> str | None:
    """The changed user's id from the notification body (a Directory user resource)."""
    if not body:
        return None
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None
