"""Composition root of the scheduler: settings → Redis, Kafka → sink, cron schedules,
retention, admin API and web UI, all behind the configured tokens."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from roster.scheduler.api import mount_api
from roster.scheduler.approvals import approvals_router
from roster.scheduler.auth import Authenticator, Guard, csrf_token_for
from roster.scheduler.runs import RunStore
from roster.scheduler.schedules import CronScheduler
from roster.scheduler.sink import Sink
from roster.scheduler.syncs import SyncStarter
from roster.scheduler.ui import mount_ui
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.logging import configure_logging
from roster.shared.redisdb import Keys, connect
from roster.shared.service import create_service_app, serve

SERVICE = "scheduler"
log = structlog.get_logger()


class Retention:
    """Removes expired runs every `sweep_seconds` (by age and by count, see RunStore.expire)."""

    def __init__(self, config: RosterConfig, store: RunStore) -> None:
        self._settings = config.scheduler.retention
        self._store = store
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        removed = await self._store.expire(
            max_age_days=self._settings.days, max_runs=self._settings.max_runs
        )
        if removed:
            log.info("expired runs removed", runs=removed)
        return removed

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("run retention sweep failed")
            await asyncio.sleep(self._settings.sweep_seconds)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="run-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def build_app(config: RosterConfig, *, authenticator: Authenticator | None = None) -> FastAPI:
    """The scheduler app. Tokens are resolved here, so a missing token secret stops the
    start with an error that names it."""
    registry = CollectorRegistry()
    runtime = KafkaRuntime(config.kafka, service=SERVICE, registry=registry)
    client = connect(config.redis)
    keys = Keys(config.redis.key_prefix)
    store = RunStore(client, keys)
    starter = SyncStarter(runtime, store)
    authenticator = authenticator or Authenticator(config.scheduler.auth)
    guard = Guard(authenticator)
    Sink(runtime, store).subscribe()
    cron = CronScheduler(config, client, keys, starter, registry=registry)
    retention = Retention(config, store)
    http = httpx.AsyncClient()
    app = create_service_app(
        service=SERVICE,
        runtime=runtime,
        redis_client=client,
        registry=registry,
        on_start=[cron.start, retention.start],
        on_stop=[cron.stop, retention.stop, http.aclose],
        title="Roster admin API",
    )
    mount_api(app, config, starter, store, guard=guard, http=http)
    app.include_router(approvals_router(config, runtime, store, guard=guard, client=client))
    mount_ui(
        app, config, store, authenticator, runtime,
        client=client, csrf_token_for=csrf_token_for, http=http,
    )  # fmt: skip
    if not config.scheduler.auth.enabled:
        log.warning("admin API authentication is off: every caller is an operator")
    return app


async def run(config: RosterConfig) -> None:
    configure_logging(SERVICE, level=config.log_level)
    await serve(build_app(config), config.scheduler.http)
