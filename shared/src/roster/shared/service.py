"""The HTTP face every service shares: `/healthz`, `/readyz`, `/metrics`, and its lifespan.

`/healthz` says the process serves requests; `/readyz` says it does its job: all its Kafka
consumers joined their groups and Redis answers. Services add their own routes to the
FastAPI app this returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as redis
import structlog
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from roster.shared.config import HttpSettings
from roster.shared.kafka import KafkaRuntime

Hook = Callable[[], Awaitable[Any]]
log = structlog.get_logger()
STOP_STEP_SECONDS = 15.0
"""Longest one shutdown step may take: a stop never hangs on a stuck consumer or task."""


async def _bounded(step: Awaitable[Any], what: str) -> None:
    try:
        await asyncio.wait_for(step, STOP_STEP_SECONDS)
    except TimeoutError:
        log.warning("shutdown step timed out", step=what, seconds=STOP_STEP_SECONDS)


def create_service_app(
    *,
    service: str,
    runtime: KafkaRuntime,
    redis_client: redis.Redis,
    registry: CollectorRegistry,
    on_start: list[Hook] | None = None,
    on_stop: list[Hook] | None = None,
    title: str | None = None,
) -> FastAPI:
    starts = on_start or []
    stops = on_stop or []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        for hook in starts:
            await hook()
        log.info("service started", service=service)
        try:
            yield
        finally:
            for hook in stops:
                await _bounded(hook(), "stop hook")
            await _bounded(runtime.stop(), "kafka runtime stop")
            await _bounded(redis_client.aclose(), "redis close")
            log.info("service stopped", service=service)

    app = FastAPI(title=title or f"roster {service}", lifespan=lifespan)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        problems: list[str] = [f"consumer not in group: {m}" for m in runtime.readiness.missing()]
        try:
            await redis_client.ping()
        except Exception as exc:  # noqa: BLE001 - any Redis failure means not ready
            problems.append(f"redis: {type(exc).__name__}")
        status = 200 if not problems else 503
        return JSONResponse({"ready": not problems, "problems": problems}, status_code=status)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


class Periodic:
    """Runs `step` every `seconds` in the background between `start()` and `stop()` (use
    them as a service's start and stop hooks). A failing step is logged and the loop goes
    on: a Redis blip must not end a background job for good."""

    def __init__(self, name: str, seconds: float, step: Hook) -> None:
        self.name = name
        self._seconds = seconds
        self._step = step
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            try:
                await self._step()
            except Exception:
                log.exception("background step failed", job=self.name)
            await asyncio.sleep(self._seconds)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def serve(app: FastAPI, http: HttpSettings) -> None:
    config = uvicorn.Config(
        app,
        host=http.host,
        port=http.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # a stuck client connection must not keep a stopping service alive forever
        timeout_graceful_shutdown=20,
    )
    await uvicorn.Server(config).serve()
