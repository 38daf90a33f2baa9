"""Plugs `scim` directories into the fetcher through the webhook plug point.

One `ScimApi` (router for `/scim/v2/...`) per composed app, shared by its `scim` directories;
each directory gets its store (lent to its connector), history and micro-batcher, which at
start also runs changes a crashed fetcher accepted but never ran.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter

from roster.fetcher.connectors.scim import ScimConnector
from roster.fetcher.cursors import CursorStore
from roster.fetcher.scim.batcher import MicroBatcher
from roster.fetcher.scim.history import ScimHistory
from roster.fetcher.scim.routes import ScimApi, Tenant
from roster.fetcher.scim.service import ScimService
from roster.fetcher.scim.store import ScimStore
from roster.fetcher.triggers import SyncTrigger
from roster.fetcher.webhooks import Webhook, WebhookContext
from roster.shared.errors import ConfigurationError

log = structlog.get_logger()
_APIS: dict[int, tuple[SyncTrigger, ScimApi]] = {}
"""Composed app (known by its SyncTrigger) → its SCIM API; the trigger is kept alive so
its id is never reused."""


def token_label(index: int, env: str | None, file: str | None) -> str:
    return f"token {index + 1} ({env or file})"


def scim_webhook(context: WebhookContext) -> Webhook:
    directory = context.directory
    settings = directory.scim
    if settings is None:
        raise ConfigurationError(f"directories.{directory.id}.scim: section missing")
    tokens = []
    for i, ref in enumerate(settings.tokens):
        value = ref.reveal().strip()
        if not value:
            raise ConfigurationError(f"directories.{directory.id}.scim.tokens[{i}]: empty token")
        tokens.append(
            (token_label(i, ref.env, str(ref.file) if ref.file else None), value.encode())
        )
    store = ScimStore(context.redis, context.keys, directory.id)
    if isinstance(context.connector, ScimConnector):
        context.connector.bind(store)
    trigger = context.trigger

    async def start_run() -> str:
        return await trigger.request_sync(directory.id, mode="delta", trigger="scim")

    batcher = MicroBatcher(directory.id, start_run, interval=settings.batch_seconds)
    cursors = CursorStore(context.redis, context.keys)

    async def run_batcher() -> None:
        """Changes accepted before a crash and never run are run first."""
        try:
            last = await store.last_change()
            if last != "0-0" and await cursors.get(directory.id) != last:
                batcher.notify()
        except Exception as exc:  # noqa: BLE001 - the batcher must start anyway
            log.warning("scim catch-up check failed", directory=directory.id, error=str(exc))
        await batcher.run()

    history = ScimHistory(
        context.redis,
        context.keys,
        directory.id,
        days=settings.history_days,
        per_hour=settings.history_per_hour,
    )
    service = ScimService(store, notify=batcher.notify)
    key = id(trigger)
    first = key not in _APIS
    if first:
        _APIS[key] = (trigger, ScimApi())
    api = _APIS[key][1]
    api.add(Tenant(directory.id, settings, tokens, service, history))
    router = api.router() if first else APIRouter()
    return Webhook(router=router, background=[run_batcher, history.run])
