"""Composition root of the scheduler: settings → Redis, Kafka → sink and admin API."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from roster.scheduler.api import mount_api
from roster.scheduler.approvals import approvals_router
from roster.scheduler.runs import RunStore
from roster.scheduler.sink import Sink
from roster.scheduler.ui import Identifies, mount_ui
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.logging import configure_logging
from roster.shared.redisdb import Keys, connect
from roster.shared.service import create_service_app, serve

SERVICE = "scheduler"


def build_app(
    config: RosterConfig,
    *,
    authenticator: Identifies | None = None,
    csrf_token_for: Callable[[str], str] | None = None,
) -> FastAPI:
    """The scheduler app; the web UI (`/ui`) is mounted when sessions can be checked."""
    registry = CollectorRegistry()
    runtime = KafkaRuntime(config.kafka, service=SERVICE, registry=registry)
    client = connect(config.redis)
    store = RunStore(client, Keys(config.redis.key_prefix))
    Sink(runtime, store).subscribe()
    app = create_service_app(
        service=SERVICE, runtime=runtime, redis_client=client, registry=registry
    )
    mount_api(app, config, runtime, store)
    app.include_router(approvals_router(config, runtime, store, client=client))
    if authenticator is not None and csrf_token_for is not None:
        mount_ui(
            app, config, store, authenticator, runtime, client=client, csrf_token_for=csrf_token_for
        )
    return app


async def run(config: RosterConfig) -> None:
    configure_logging(SERVICE, level=config.log_level)
    await serve(build_app(config), config.scheduler.http)
