"""Composition root of the scheduler: settings → Redis, Kafka → sink, cron schedules,
retention, admin API and web UI, all behind the configured tokens."""

from __future__ import annotations

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
from roster.shared.service import Periodic, create_service_app, serve

SERVICE = "scheduler"
log = structlog.get_logger()


def retention(config: RosterConfig, store: RunStore) -> Periodic:
    """Removes expired runs every `sweep_seconds` (by age and by count, see RunStore.expire)."""
    settings = config.scheduler.retention

    async def sweep() -> None:
        removed = await store.expire(max_age_days=settings.days, max_runs=settings.max_runs)
        if removed:
            log.info("expired runs removed", runs=removed)

    return Periodic("run-retention", settings.sweep_seconds, sweep)


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
    sweeper = retention(config, store)
    http = httpx.AsyncClient()
    app = create_service_app(
        service=SERVICE,
        runtime=runtime,
        redis_client=client,
        registry=registry,
        on_start=[cron.start, sweeper.start],
        on_stop=[cron.stop, sweeper.stop, http.aclose],
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
