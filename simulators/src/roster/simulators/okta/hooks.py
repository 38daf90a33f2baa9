"""Event Hooks (idp-apis.md §2.4): registration, the one-time verification GET, deliveries.

A hook is created INACTIVE/UNVERIFIED; `verify` sends the `X-Okta-Verification-Challenge` GET
(with the configured auth header) and expects `{"verification": <challenge>}` back. A verified,
active hook gets every new LogEvent of its event types POSTed in a `com.okta.event_hook`
envelope with the static secret in the configured header; a 5xx or timeout is retried once,
a 4xx never. Duplicate and reversed delivery can be switched on to test receivers.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from roster.simulators.okta.wire import OktaError, invalid, iso, not_found

DELIVERY_TIMEOUT = 3.0


@dataclass
class Hook:
    id: str
    name: str
    uri: str
    header: str
    secret: str
    event_types: list[str]
    created: float
    status: str = "ACTIVE"
    verification: str = "UNVERIFIED"

    def rep(self, base: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "verificationStatus": self.verification,
            "events": {"type": "EVENT_TYPE", "items": list(self.event_types)},
            "channel": {
                "type": "HTTP",
                "version": "1.0.0",
                "config": {
                    "uri": self.uri,
                    "headers": [],
                    "authScheme": {"type": "HEADER", "key": self.header},
                },
            },
            "created": iso(self.created),
            "lastUpdated": iso(self.created),
            "_links": {"self": {"href": f"{base}/api/v1/eventHooks/{self.id}"}},
        }


@dataclass
class DeliveryOptions:
    duplicate: bool = False
    """Send every delivery twice (Okta delivers at least once)."""
    reverse: bool = False
    """Send the events of one change in reverse order (Okta may deliver out of order)."""


@dataclass
class EventHooks:
    base_url: str
    clock: Any
    hooks: dict[str, Hook] = field(default_factory=dict)
    options: DeliveryOptions = field(default_factory=DeliveryOptions)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def create(self, body: dict[str, Any]) -> Hook:
        try:
            config = body["channel"]["config"]
            uri = str(config["uri"])
            scheme = config.get("authScheme") or {}
            items = [str(t) for t in body["events"]["items"]]
            name = str(body["name"])
        except (KeyError, TypeError):
            raise invalid(
                "channel.config.uri: name, events.items and channel.config.uri are required"
            ) from None
        if not uri.startswith(("https://", "http://")):
            raise invalid("channel.config.uri: must be an https URL")
        hook = Hook(
            id="who" + secrets.token_hex(9)[:17],
            name=name,
            uri=uri,
            header=str(scheme.get("key", "Authorization")),
            secret=str(scheme.get("value", "")),
            event_types=items,
            created=self.clock(),
        )
        self.hooks[hook.id] = hook
        return hook

    def get(self, hook_id: str) -> Hook:
        hook = self.hooks.get(hook_id)
        if hook is None:
            raise not_found("EventHook", hook_id)
        return hook

    async def verify(self, hook: Hook) -> Hook:
        challenge = secrets.token_urlsafe(24)
        headers = {"X-Okta-Verification-Challenge": challenge, hook.header: hook.secret}
        try:
            async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT) as client:
                answer = await client.get(hook.uri, headers=headers)
            ok = answer.status_code == 200 and answer.json().get("verification") == challenge
        except (httpx.HTTPError, ValueError, AttributeError):
            ok = False
        self.deliveries.append({"hook": hook.id, "kind": "verification", "ok": ok})
        if not ok:
            raise OktaError(
                400,
                "E0000001",
                "Api validation failed: Event hook verification failed",
                causes=["verification: the endpoint did not return the challenge"],
            )
        hook.verification = "VERIFIED"
        return hook

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Called by the store with the LogEvents of one change: schedule the deliveries."""
        for hook in self.hooks.values():
            if hook.status != "ACTIVE" or hook.verification != "VERIFIED":
                continue
            chosen = [e for e in events if e["eventType"] in hook.event_types]
            if not chosen:
                continue
            if self.options.reverse:
                chosen.reverse()
            body = {
                "eventType": "com.okta.event_hook",
                "eventTypeVersion": "1.0",
                "cloudEventsVersion": "0.1",
                "source": f"{self.base_url}/api/v1/eventHooks/{hook.id}",
                "eventId": str(uuid.uuid4()),
                "eventTime": iso(self.clock()),
                "contentType": "application/json",
                "data": {"events": chosen},
            }
            for _ in range(2 if self.options.duplicate else 1):
                try:
                    task = asyncio.get_running_loop().create_task(self._deliver(hook, body))
                except RuntimeError:  # no loop (a synchronous caller): nothing to deliver with
                    return
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, hook: Hook, body: dict[str, Any]) -> None:
        headers = {hook.header: hook.secret, "Content-Type": "application/json"}
        status: int | None = None
        for attempt in (1, 2):
            try:
                async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT) as client:
                    status = (await client.post(hook.uri, json=body, headers=headers)).status_code
            except httpx.HTTPError:
                status = None
            if status is not None and status < 500:
                break
            if attempt == 1:
                await asyncio.sleep(0.2)
        self.deliveries.append(
            {
                "hook": hook.id,
                "kind": "event",
                "eventId": body["eventId"],
                "status": status,
                "uuids": [e["uuid"] for e in body["data"]["events"]],
            }
        )

    async def drain(self) -> None:
        """Wait for deliveries in flight (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
