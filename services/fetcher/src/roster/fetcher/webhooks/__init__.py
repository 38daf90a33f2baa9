"""IdP notification endpoints (`/webhooks/<kind>/...`): one module per IdP kind.

A kind plugs in with a factory in `WEBHOOKS`: `WebhookContext` in, `Webhook` out (a router
mounted on the app, plus background renewal tasks run while the app runs). Endpoints verify
every request the IdP's way, answer 401/403 and publish nothing when that fails; an accepted
notification ends in `SyncTrigger.request_sync`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis
from fastapi import APIRouter

from roster.fetcher.connectors.base import Connector
from roster.fetcher.triggers import SyncTrigger
from roster.shared.config import DirectorySettings
from roster.shared.redisdb import Keys

Task = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class WebhookContext:
    directory: DirectorySettings
    connector: Connector
    trigger: SyncTrigger
    redis: redis.Redis
    keys: Keys
    """Key names behind the configured prefix; use `keys("fetcher", "<kind>", ...)`."""
    public_url: str | None = None
    """Where the IdP reaches this fetcher (`fetcher.public_url`), for subscriptions."""


@dataclass(frozen=True)
class Webhook:
    router: APIRouter
    background: list[Task] = field(default_factory=list)
    """Long-running coroutines (renewal loops); each must handle its own errors and loop."""


WebhookFactory = Callable[[WebhookContext], Webhook]

WEBHOOKS: dict[str, WebhookFactory] = {}
"""Directory kind → webhook factory. Kinds without an entry have no notification endpoint."""

from roster.fetcher.scim.plug import scim_webhook  # noqa: E402 - needs the types above

WEBHOOKS["scim"] = scim_webhook

from roster.fetcher.webhooks.google import google_webhook  # noqa: E402 - needs the types above

WEBHOOKS["google"] = google_webhook

from roster.fetcher.webhooks.okta import okta_webhook  # noqa: E402 - needs the types above

WEBHOOKS["okta"] = okta_webhook

from roster.fetcher.webhooks.entra import entra_webhook  # noqa: E402 - needs the types above

WEBHOOKS["entra"] = entra_webhook
