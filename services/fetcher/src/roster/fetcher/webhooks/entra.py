"""Graph change notifications (`/webhooks/entra/<directory>[/lifecycle]`), idp-apis.md §1.5.

`validationToken` is echoed as text; every notification must carry its subscription's
`clientState` (Redis, constant-time compare): 401 without one, 403 when unknown or wrong,
nothing published. Accepted ones request a delta sync; lifecycle events reauthorize or
re-create. A keeper task creates and renews subscriptions (docs/connectors/entra.md)."""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from roster.fetcher.connectors.entra import EntraConnector
from roster.fetcher.webhooks import Task, Webhook, WebhookContext
from roster.shared.errors import NotFoundError, RosterError

log = structlog.get_logger()
CHANGE_TYPE = "updated,deleted"


def graph_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


class SubscriptionKeeper:
    """Creates, renews, reauthorizes and re-creates this directory's Graph subscriptions."""

    def __init__(
        self,
        context: WebhookContext,
        connector: EntraConnector,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings = connector.settings.subscriptions
        self.settings = settings
        self.connector = connector
        self.directory = context.directory.id
        self.redis = context.redis
        self.key = context.keys("fetcher", "entra", self.directory, "subscriptions")
        self.lock_key = context.keys("fetcher", "entra", self.directory, "subscriptions-lock")
        base = (context.public_url or "").rstrip("/")
        self.notification_url = f"{base}/webhooks/entra/{self.directory}"
        self.lifecycle_url = f"{self.notification_url}/lifecycle"
        self.clock = clock

    async def records(self) -> dict[str, dict[str, Any]]:
        raw = await self.redis.hgetall(self.key)  # type: ignore[misc]
        records: dict[str, dict[str, Any]] = {}
        for field, value in raw.items():
            try:
                records[str(field)] = json.loads(value)
            except ValueError:
                continue
        return records

    async def client_state(self, subscription_id: str) -> str | None:
        raw = await self.redis.hget(self.key, subscription_id)  # type: ignore[misc]
        if raw is None:
            return None
        try:
            state = json.loads(raw).get("client_state")
        except (ValueError, AttributeError):
            return None
        return state if isinstance(state, str) else None

    async def _store(self, subscription_id: str, resource: str, state: str, expiry: float) -> None:
        record = {"resource": resource, "client_state": state, "expiration": expiry}
        await self.redis.hset(self.key, subscription_id, json.dumps(record))  # type: ignore[misc]

    async def create(self, resource: str) -> str:
        state = secrets.token_urlsafe(48)  # 64 characters, inside Graph's 128 limit
        expiry = self.clock() + self.settings.lifetime_minutes * 60
        body = {
            "changeType": CHANGE_TYPE,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "resource": resource,
            "expirationDateTime": graph_time(expiry),
            "clientState": state,
        }
        created = await self.connector.create_subscription(body)
        await self._store(created["id"], resource, state, expiry)
        log.info("entra subscription created", directory=self.directory, resource=resource)
        return str(created["id"])

    async def renew(self, subscription_id: str, record: dict[str, Any]) -> None:
        expiry = self.clock() + self.settings.lifetime_minutes * 60
        try:
            await self.connector.renew_subscription(subscription_id, graph_time(expiry))
        except NotFoundError:  # expired or removed at Graph: start again
            await self.redis.hdel(self.key, subscription_id)  # type: ignore[misc]
            await self.create(str(record["resource"]))
            return
        await self._store(subscription_id, record["resource"], record["client_state"], expiry)
        log.info("entra subscription renewed", directory=self.directory)

    async def reauthorize(self, subscription_id: str) -> None:
        record = (await self.records()).get(subscription_id)
        if record is None:
            return
        try:
            await self.connector.reauthorize_subscription(subscription_id)
        except RosterError:
            await self.renew(subscription_id, record)

    async def recreate(self, subscription_id: str) -> None:
        record = (await self.records()).get(subscription_id)
        await self.redis.hdel(self.key, subscription_id)  # type: ignore[misc]
        if record is not None:
            await self.create(str(record["resource"]))

    async def ensure(self) -> None:
        """One pass: a live subscription per resource, renewed when close to expiry."""
        lock_ms = int(max(self.settings.check_interval_seconds, 5.0) * 1000)
        if not await self.redis.set(self.lock_key, "1", nx=True, px=lock_ms):
            return  # another replica keeps them
        now = self.clock()
        records = await self.records()
        for subscription_id, record in records.items():
            if float(record.get("expiration", 0)) <= now:
                await self.redis.hdel(self.key, subscription_id)  # type: ignore[misc]
        for resource in self.settings.resources:
            mine = [
                (float(r.get("expiration", 0)), sid)
                for sid, r in records.items()
                if r.get("resource") == resource and float(r.get("expiration", 0)) > now
            ]
            if not mine:
                await self.create(resource)
                continue
            expiry, subscription_id = max(mine)
            if expiry - now < self.settings.renew_before_minutes * 60:
                await self.renew(subscription_id, records[subscription_id])

    async def run(self) -> None:
        while True:
            try:
                await self.ensure()
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any failure
                log.warning("entra subscriptions not maintained", directory=self.directory,
                            error=str(exc)[:300])  # fmt: skip
            await asyncio.sleep(self.settings.check_interval_seconds)


def _items(body: Any) -> list[dict[str, Any]] | None:
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return None
    return items


def entra_webhook(context: WebhookContext) -> Webhook:
    directory = context.directory
    router = APIRouter()
    connector = context.connector
    if not isinstance(connector, EntraConnector):
        return Webhook(router=router)
    keeper = SubscriptionKeeper(context, connector)
    path = f"/webhooks/entra/{directory.id}"
    pending: set[asyncio.Task[None]] = set()

    async def refused(items: list[dict[str, Any]]) -> Response | None:
        for item in items:
            given = item.get("clientState")
            if not isinstance(given, str) or not given:
                return JSONResponse({"error": "missing clientState"}, status_code=401)
            expected = await keeper.client_state(str(item.get("subscriptionId", "")))
            if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
                log.warning("entra notification refused", directory=directory.id,
                            reason="unknown subscription or clientState")  # fmt: skip
                return JSONResponse({"error": "clientState does not match"}, status_code=403)
        return None

    async def parse(request: Request) -> list[dict[str, Any]] | Response:
        try:
            items = _items(await request.json())
        except ValueError:
            items = None
        if items is None:
            return JSONResponse({"error": "not a Graph notification batch"}, status_code=400)
        return (await refused(items)) or items

    def validation(request: Request) -> Response | None:
        token = request.query_params.get("validationToken")
        if token is None:
            return None
        return PlainTextResponse(token, status_code=200)  # query values arrive URL-decoded

    def later(job: Callable[[], Any]) -> None:
        async def run() -> None:
            try:
                await job()
            except Exception as exc:  # noqa: BLE001 - a failed repair is retried by the keeper
                log.warning("entra lifecycle action failed", directory=directory.id,
                            error=str(exc)[:300])  # fmt: skip

        task = asyncio.create_task(run())
        pending.add(task)
        task.add_done_callback(pending.discard)

    @router.post(path, include_in_schema=False)
    async def notify(request: Request) -> Response:
        echo = validation(request)
        if echo is not None:
            return echo
        parsed = await parse(request)
        if isinstance(parsed, Response):
            return parsed
        await context.trigger.request_sync(directory.id, mode="delta", trigger="webhook")
        return Response(status_code=202)

    @router.post(f"{path}/lifecycle", include_in_schema=False)
    async def lifecycle(request: Request) -> Response:
        echo = validation(request)
        if echo is not None:
            return echo
        parsed = await parse(request)
        if isinstance(parsed, Response):
            return parsed
        for item in parsed:
            event = item.get("lifecycleEvent")
            subscription_id = str(item.get("subscriptionId", ""))
            log.info("entra lifecycle event", directory=directory.id, lifecycle_event=event)
            if event == "reauthorizationRequired":
                later(functools.partial(keeper.reauthorize, subscription_id))
            elif event == "subscriptionRemoved":
                later(functools.partial(keeper.recreate, subscription_id))
        await context.trigger.request_sync(directory.id, mode="delta", trigger="webhook")
        return Response(status_code=202)

    background: list[Task] = []
    if context.public_url and connector.settings.subscriptions.enabled:
        background.append(keeper.run)
    return Webhook(router=router, background=background)
