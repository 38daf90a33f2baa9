"""Composition root of the fetcher: settings → HTTP client, connectors, Kafka runtime → app.

Serves every configured directory, or the subset in `fetcher.directories` (its own consumer
group then, so each subset sees every request). Kinds without a connector yet still start:
their requests are answered with `RunFailed`.
"""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from roster.fetcher.connectors.base import Connector, ConnectorHooks
from roster.fetcher.connectors.registry import connector_for, supported
from roster.fetcher.cursors import CursorStore
from roster.fetcher.deltas import DeltaRunner
from roster.fetcher.handlers import SyncRequestHandler, check_router
from roster.fetcher.jit import jit_router
from roster.fetcher.metrics import FetcherMetrics
from roster.fetcher.snapshots import SnapshotRunner
from roster.fetcher.triggers import SyncTrigger
from roster.fetcher.webhooks import WEBHOOKS, Webhook, WebhookContext
from roster.shared import topics
from roster.shared.config import DirectorySettings, RosterConfig
from roster.shared.errors import ConfigurationError
from roster.shared.kafka import KafkaRuntime
from roster.shared.logging import configure_logging
from roster.shared.redisdb import Keys, connect
from roster.shared.service import create_service_app, serve

SERVICE = "fetcher"
IDP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
log = structlog.get_logger()


def served_directories(config: RosterConfig) -> dict[str, DirectorySettings]:
    wanted = config.fetcher.directories
    if not wanted:
        return {d.id: d for d in config.directories}
    known = {d.id: d for d in config.directories}
    missing = sorted(set(wanted) - set(known))
    if missing:
        raise ConfigurationError(f"fetcher.directories: no directory with id {', '.join(missing)}")
    return {i: known[i] for i in wanted}


def consumer_group(config: RosterConfig) -> str:
    """`fetcher` when serving all directories, else `fetcher-<sorted ids joined by ->`."""
    ids = sorted(set(config.fetcher.directories))
    return "-".join([SERVICE, *ids])


def build_app(
    config: RosterConfig,
    *,
    http_client: httpx.AsyncClient | None = None,
    hooks: ConnectorHooks | None = None,
) -> FastAPI:
    """`http_client` and `hooks` let tests point connectors at a simulator with a fake clock."""
    served = served_directories(config)
    registry = CollectorRegistry()
    metrics = FetcherMetrics(registry)
    runtime = KafkaRuntime(config.kafka, service=SERVICE, registry=registry)
    http = http_client or httpx.AsyncClient(timeout=IDP_TIMEOUT, follow_redirects=False)
    base = hooks or ConnectorHooks()
    connectors: dict[str, Connector] = {}
    for directory in served.values():
        if not supported(directory.kind):
            log.warning("no connector for kind", directory=directory.id, kind=directory.kind)
            continue
        own = dataclasses.replace(base, on_request=metrics.request_counter(directory.id))
        connectors[directory.id] = connector_for(directory, http, hooks=own)
    group = consumer_group(config)
    redis_client = connect(config.redis)
    snapshots = SnapshotRunner(runtime, metrics, member_chunk=config.fetcher.member_chunk)
    cursors = CursorStore(redis_client, Keys(config.redis.key_prefix))
    handler = SyncRequestHandler(
        runtime=runtime,
        runner=DeltaRunner(runtime, snapshots, cursors),
        served=served,
        connectors=connectors,
        group=group,
    )
    runtime.subscribe(topics.SYNC_REQUESTS, group=group, handler=handler.on_batch)
    trigger = SyncTrigger(runtime)
    webhooks: list[Webhook] = []
    for directory_id, connector in connectors.items():
        factory = WEBHOOKS.get(served[directory_id].kind)
        if factory is not None:
            context = WebhookContext(
                directory=served[directory_id],
                connector=connector,
                trigger=trigger,
                redis=redis_client,
                keys=Keys(config.redis.key_prefix),
                public_url=config.fetcher.public_url,
            )
            webhooks.append(factory(context))
    tasks: list[asyncio.Task[None]] = []

    async def start_background() -> None:
        tasks.extend(asyncio.create_task(job()) for hook in webhooks for job in hook.background)

    async def stop_background() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    app = create_service_app(
        service=SERVICE,
        runtime=runtime,
        redis_client=redis_client,
        registry=registry,
        on_start=[start_background],
        on_stop=[stop_background, *([http.aclose] if http_client is None else [])],
    )
    app.include_router(check_router(served, connectors))
    app.include_router(jit_router(connectors, trigger, redis_client, Keys(config.redis.key_prefix)))
    for hook in webhooks:
        app.include_router(hook.router)
    return app


async def run(config: RosterConfig) -> None:
    configure_logging(SERVICE, level=config.log_level)
    await serve(build_app(config), config.fetcher.http)
