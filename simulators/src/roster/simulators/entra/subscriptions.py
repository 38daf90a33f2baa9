"""Graph change-notification subscriptions: create with the validation handshake, renew,
deliver notifications and lifecycle events (idp-apis.md §1.5).

Like Graph, creation first POSTs `?validationToken=…` to the notification URL (and to the
lifecycle URL) and needs 200, `text/plain`, the token echoed, within the timeout. Deliveries
are one POST each, recorded with the answer's status; nothing is retried.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

MAX_MINUTES = 41760
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


class SubscriptionError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def parse_time(text: str) -> float:
    """Graph's `2026-11-30T10:00:00.0000000Z` (7 fraction digits) as epoch seconds."""
    value = text.strip().replace("Z", "+00:00")
    if "." in value:
        head, rest = value.split(".", 1)
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        value = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclass
class Subscription:
    id: str
    resource: str
    change_type: str
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: float
    application_id: str

    def resource_json(self) -> dict[str, Any]:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": self.change_type,
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": format_time(self.expiration),
            "creatorId": self.application_id,
            "latestSupportedTlsVersion": "v1_2",
            "notificationUrlAppId": None,
            "includeResourceData": None,
        }

    def covers(self, collection: str, object_id: str, change: str) -> bool:
        path = self.resource.strip("/").lower()
        wanted = {c.strip() for c in self.change_type.split(",")}
        return change in wanted and path in (collection, f"{collection}/{object_id.lower()}")


@dataclass
class Subscriptions:
    clock: Callable[[], float]
    tenant_id: str
    application_id: str
    timeout: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None
    """Where deliveries go; None = the network (tests plug in an ASGI transport)."""
    by_id: dict[str, Subscription] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    """Every POST made to a client: kind (validation, notification, lifecycle), url, status."""

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=self.timeout)

    async def _validate(self, url: str) -> None:
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"  # noqa: E501
        status: int | None = None
        try:
            async with self._client() as client:
                response = await asyncio.wait_for(
                    client.post(url, params={"validationToken": token},
                                headers={"Content-Type": "text/plain; charset=utf-8"}),
                    timeout=self.timeout,
                )  # fmt: skip
            status = response.status_code
            ok = (
                status == 200
                and response.headers.get("content-type", "").startswith("text/plain")
                and response.text == token
            )
        except (httpx.HTTPError, TimeoutError):
            ok = False
        self.deliveries.append({"kind": "validation", "url": url, "status": status, "ok": ok})
        if not ok:
            raise SubscriptionError(
                400,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint must respond "
                "with 200 OK to validation request.",
            )

    def _expiration(self, body: dict[str, Any]) -> float:
        raw = body.get("expirationDateTime")
        if not isinstance(raw, str):
            raise SubscriptionError(400, "InvalidRequest", "expirationDateTime is required.")
        try:
            when = parse_time(raw)
        except ValueError as exc:
            raise SubscriptionError(
                400, "InvalidRequest", f"Invalid expirationDateTime {raw!r}."
            ) from exc
        now = self.clock()
        if when <= now:
            raise SubscriptionError(
                400, "InvalidRequest", "Subscription expiration can only be in the future."
            )
        if when > now + MAX_MINUTES * 60:
            raise SubscriptionError(
                400,
                "InvalidRequest",
                f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.",
            )
        return when

    async def create(self, body: dict[str, Any]) -> Subscription:
        resource = body.get("resource")
        url = body.get("notificationUrl")
        change = body.get("changeType")
        if not isinstance(resource, str) or resource.strip("/").split("/")[0].lower() not in (
            "users",
            "groups",
        ):
            raise SubscriptionError(400, "InvalidRequest", f"Unsupported resource {resource!r}.")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise SubscriptionError(400, "InvalidRequest", "notificationUrl must be an https URL.")
        if not isinstance(change, str) or not change:
            raise SubscriptionError(400, "InvalidRequest", "changeType is required.")
        if not {c.strip() for c in change.split(",")} <= {"created", "updated", "deleted"}:
            raise SubscriptionError(400, "InvalidRequest", f"Unsupported changeType {change!r}.")
        state = body.get("clientState")
        if state is not None and (not isinstance(state, str) or len(state) > 128):
            raise SubscriptionError(
                400, "InvalidRequest", "clientState is limited to 128 characters."
            )
        expiration = self._expiration(body)
        lifecycle = body.get("lifecycleNotificationUrl")
        await self._validate(url)
        if isinstance(lifecycle, str):
            await self._validate(lifecycle)
        subscription = Subscription(
            id=str(uuid.uuid4()),
            resource=resource,
            change_type=change,
            notification_url=url,
            lifecycle_url=lifecycle if isinstance(lifecycle, str) else None,
            client_state=state,
            expiration=expiration,
            application_id=self.application_id,
        )
        self.by_id[subscription.id] = subscription
        return subscription

    def get(self, subscription_id: str) -> Subscription:
        subscription = self.by_id.get(subscription_id)
        if subscription is None or subscription.expiration <= self.clock():
            self.by_id.pop(subscription_id, None)
            raise SubscriptionError(
                404, "ResourceNotFound", f"The object was not found: {subscription_id}"
            )
        return subscription

    def renew(self, subscription_id: str, body: dict[str, Any]) -> Subscription:
        subscription = self.get(subscription_id)
        subscription.expiration = self._expiration(body)
        return subscription

    def delete(self, subscription_id: str) -> None:
        self.get(subscription_id)
        del self.by_id[subscription_id]

    def active(self) -> list[Subscription]:
        now = self.clock()
        return [s for s in self.by_id.values() if s.expiration > now]

    async def _post(self, kind: str, url: str, payload: dict[str, Any]) -> int | None:
        status: int | None = None
        try:
            async with self._client() as client:
                status = (await client.post(url, json=payload)).status_code
        except httpx.HTTPError:
            status = None
        self.deliveries.append({"kind": kind, "url": url, "status": status, "payload": payload})
        return status

    async def notify(self, touched: list[tuple[str, str, str]]) -> int:
        """Deliver `(collection, object id, changeType)` changes to every covering
        subscription, one batch per notification URL; returns the POSTs made."""
        batches: dict[str, list[dict[str, Any]]] = {}
        for subscription in self.active():
            for collection, object_id, change in touched:
                if not subscription.covers(collection, object_id, change):
                    continue
                kind = "User" if collection == "users" else "Group"
                batches.setdefault(subscription.notification_url, []).append(
                    {
                        "subscriptionId": subscription.id,
                        "subscriptionExpirationDateTime": format_time(subscription.expiration),
                        "clientState": subscription.client_state,
                        "changeType": change,
                        "resource": f"{kind}s/{object_id}",
                        "tenantId": self.tenant_id,
                        "resourceData": {
                            "@odata.type": f"#Microsoft.Graph.{kind}",
                            "@odata.id": f"{kind}s/{object_id}",
                            "id": object_id,
                            "organizationId": self.tenant_id,
                        },
                    }
                )
        for url, items in batches.items():
            await self._post("notification", url, {"value": items})
        return len(batches)

    async def lifecycle(self, subscription_id: str, event: str) -> int | None:
        subscription = self.get(subscription_id)
        if event not in LIFECYCLE_EVENTS:
            raise SubscriptionError(400, "InvalidRequest", f"unknown lifecycle event {event!r}")
        if subscription.lifecycle_url is None:
            raise SubscriptionError(
                400, "InvalidRequest", "subscription has no lifecycleNotificationUrl"
            )
        item = {
            "lifecycleEvent": event,
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": format_time(subscription.expiration),
            "tenantId": self.tenant_id,
            "clientState": subscription.client_state,
            "organizationId": self.tenant_id,
        }
        if event == "subscriptionRemoved":
            del self.by_id[subscription.id]
        return await self._post("lifecycle", subscription.lifecycle_url, {"value": [item]})
