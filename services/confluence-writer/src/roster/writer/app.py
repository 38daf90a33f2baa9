"""Composition root of the confluence-writer: settings → HTTP, Redis, limiter → app.

`build_writer` wires the parts (tests use it directly with a simulator and a fake clock);
`build_app` adds the Kafka subscription and the service's HTTP face; `run` serves it.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import redis.asyncio as redis
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.logging import configure_logging
from roster.shared.redisdb import Keys, connect
from roster.shared.service import create_service_app, serve
from roster.writer.adapters.clock import Clock, SystemClock
from roster.writer.adapters.confluence import ConfluenceClient, try_ready
from roster.writer.adapters.http import ConfluenceHttp, auth_header
from roster.writer.adapters.ledger import Ledger
from roster.writer.adapters.ratelimit import SharedRateLimiter
from roster.writer.executor import CommandExecutor
from roster.writer.handlers import GROUP, CommandHandler
from roster.writer.metrics import WriterMetrics
from roster.writer.reader import StateReader
from roster.writer.settings import WriterOptions

SERVICE = "confluence-writer"


@dataclass(frozen=True)
class Writer:
    """The wired parts of one writer replica."""

    options: WriterOptions
    metrics: WriterMetrics
    http_client: httpx.AsyncClient
    limiter: SharedRateLimiter
    ledger: Ledger
    client: ConfluenceClient
    executor: CommandExecutor
    reader: StateReader


def confluence_http_client(config: RosterConfig, options: WriterOptions) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=config.confluence.url,
        timeout=httpx.Timeout(options.timeout_seconds, connect=min(10.0, options.timeout_seconds)),
        limits=httpx.Limits(max_connections=options.concurrency * 2),
        follow_redirects=False,
    )


def build_writer(
    config: RosterConfig,
    *,
    redis_client: redis.Redis,
    http_client: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
    options: WriterOptions | None = None,
    registry: CollectorRegistry | None = None,
) -> Writer:
    options = options or WriterOptions.from_config(config)
    clock = clock or SystemClock()
    metrics = WriterMetrics(registry)
    keys = Keys(config.redis.key_prefix)
    http_client = http_client or confluence_http_client(config, options)
    limiter = SharedRateLimiter(redis_client, keys, options=options, clock=clock, metrics=metrics)
    http = ConfluenceHttp(
        http_client,
        authorization=auth_header(config.confluence.auth),
        options=options,
        pacer=limiter,
        clock=clock,
        metrics=metrics,
    )
    client = ConfluenceClient(http, version=config.confluence.version, options=options, clock=clock)
    ledger = Ledger(
        redis_client,
        keys,
        done_ttl=options.done_ttl_seconds,
        inflight_ttl=options.inflight_ttl_seconds,
    )
    executor = CommandExecutor(client, ledger, options=options, clock=clock, metrics=metrics)
    reader = StateReader(client, options=options, metrics=metrics)
    return Writer(options, metrics, http_client, limiter, ledger, client, executor, reader)


def build_app(
    config: RosterConfig,
    *,
    http_client: httpx.AsyncClient | None = None,
    redis_client: redis.Redis | None = None,
    clock: Clock | None = None,
    options: WriterOptions | None = None,
) -> FastAPI:
    """`http_client`, `clock` and `options` let tests point the writer at a simulator."""
    registry = CollectorRegistry()
    redis_client = redis_client or connect(config.redis)
    writer = build_writer(
        config,
        redis_client=redis_client,
        http_client=http_client,
        clock=clock,
        options=options,
        registry=registry,
    )
    runtime = KafkaRuntime(config.kafka, service=SERVICE, registry=registry)
    handler = CommandHandler(
        runtime,
        writer.executor,
        writer.reader,
        concurrency=writer.options.concurrency,
        budget_seconds=writer.options.batch_budget_seconds,
    )
    runtime.subscribe(
        topics.CONFLUENCE_COMMANDS,
        group=GROUP,
        handler=handler.on_batch,
        max_records=writer.options.batch_size,
    )

    async def connect_confluence() -> None:
        await try_ready(writer.client)

    return create_service_app(
        service=SERVICE,
        runtime=runtime,
        redis_client=redis_client,
        registry=registry,
        on_start=[connect_confluence],
        on_stop=[writer.http_client.aclose] if http_client is None else [],
    )


async def run(config: RosterConfig) -> None:
    configure_logging(SERVICE, level=config.log_level)
    await serve(build_app(config), config.writer.http)
