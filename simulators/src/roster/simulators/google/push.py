"""`users.watch` notification channels and their delivery (Google's push contract).

A channel watches one user event (add, delete, update, undelete, makeAdmin) and lives until
its expiration (requested `params.ttl`, at most 2 days, default 6 hours here; Google caps it)
or a `channels/stop`. Right after creation the channel gets a `sync` message; then each
matching change is POSTed with the `X-Goog-*` headers and the user as the body. Failed
deliveries are retried a few times with backoff, as Google does, then dropped.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from roster.shared.errors import RosterError
from roster.simulators.common.faults import RequestLog

MAX_TTL_SECONDS = 172800
DEFAULT_TTL_SECONDS = 21600
WATCH_EVENTS = ("add", "delete", "makeAdmin", "undelete", "update")


@dataclass(slots=True)
class Channel:
    id: str
    resource_id: str
    resource_uri: str
    address: str
    token: str | None
    event: str
    expiration: float
    """Epoch seconds."""
    message_number: int = 0


class Channels:
    def __init__(self, clock: Callable[[], float], deliveries: RequestLog) -> None:
        self._clock = clock
        self.channels: dict[str, Channel] = {}
        self.deliveries = deliveries
        """One entry per delivery attempt: channel, state, status or error."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self.paused = False
        """When true, notifications are recorded as `paused` and not sent (test switch)."""
        self.retries = 3

    def create(
        self, *, channel_id: str, address: str, token: str | None, event: str, ttl: float,
        resource_uri: str,
    ) -> Channel:  # fmt: skip
        channel = Channel(
            id=channel_id,
            resource_id=secrets.token_urlsafe(20),
            resource_uri=resource_uri,
            address=address,
            token=token,
            event=event,
            expiration=self._clock() + min(ttl, MAX_TTL_SECONDS),
        )
        self.channels[channel_id] = channel
        self._send(channel, "sync", None)
        return channel

    def stop(self, channel_id: str, resource_id: str) -> bool:
        channel = self.channels.get(channel_id)
        if channel is None or channel.resource_id != resource_id:
            return False
        del self.channels[channel_id]
        return True

    def live(self) -> list[Channel]:
        now = self._clock()
        for cid in [c.id for c in self.channels.values() if c.expiration <= now]:
            del self.channels[cid]
        return list(self.channels.values())

    def notify(self, event: str, body: dict[str, Any]) -> None:
        for channel in self.live():
            if channel.event == event:
                self._send(channel, event, body)

    def _send(self, channel: Channel, state: str, body: dict[str, Any] | None) -> None:
        channel.message_number += 1
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": email.utils.formatdate(channel.expiration, usegmt=True),
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.message_number),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        content = b""
        if body is not None:
            headers["Content-Type"] = "application/json; charset=UTF-8"
            content = json.dumps(body).encode()
        if self.paused:
            self.deliveries.add(channel=channel.id, state=state, status=None, result="paused")
            return
        try:
            task = asyncio.get_running_loop().create_task(
                self._deliver(channel.id, channel.address, state, headers, content)
            )
        except RuntimeError:  # no loop (a synchronous caller in a test): nothing to send with
            self.deliveries.add(channel=channel.id, state=state, status=None, result="no-loop")
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, channel_id: str, address: str, state: str, headers: dict[str, str], content: bytes
    ) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0)
        delay = 0.2
        for attempt in range(1, self.retries + 2):
            try:
                response = await self._client.post(address, headers=headers, content=content)
                status: int | None = response.status_code
                error = None
            except (httpx.HTTPError, RosterError) as exc:
                status, error = None, type(exc).__name__
            self.deliveries.add(
                channel=channel_id, state=state, status=status, error=error, attempt=attempt,
                message_number=headers["X-Goog-Message-Number"],
                result="delivered" if status is not None and status < 300 else "failed",
            )  # fmt: skip
            if status is not None and (status < 300 or status in (401, 403, 404)):
                return  # answered: success, or refused (not worth retrying)
            await asyncio.sleep(delay)
            delay *= 2

    async def drain(self) -> None:
        """Wait until every delivery in flight has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
