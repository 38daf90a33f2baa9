"""Fixtures of the writer tests: real Redis (fails when absent), the Confluence simulator
in-process or under uvicorn, and writers wired to it with a fake clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from writer_support import (
    BASE,
    PASSWORD,
    PASSWORD_ENV,
    TOKEN,
    TOKEN_ENV,
    FakeClock,
    SimControl,
    make_config,
    redis_url,
)

from roster.simulators.common.serving import Servers
from roster.simulators.confluence import SimApp, SimConfig, create_app
from roster.writer.app import Writer, build_writer
from roster.writer.settings import WriterOptions


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
async def redis_client() -> AsyncIterator[redis.Redis]:
    """A real Redis from REDIS_URL; a test that needs it fails (never skips) without it."""
    client = redis.Redis.from_url(redis_url(), decode_responses=True)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001
        await client.aclose()
        pytest.fail(
            f"Redis at {redis_url()} is unreachable ({exc}); run scripts/stack.sh redis-start"
        )
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis_client: redis.Redis) -> AsyncIterator[str]:
    """A key prefix of this test alone; its keys are removed afterwards."""
    value = f"roster-test-writer:{uuid.uuid4().hex[:10]}:"
    yield value
    keys = [k async for k in redis_client.scan_iter(match=f"{value}*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def http_clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []
    yield clients
    for client in clients:
        await client.aclose()


SimMaker = Callable[..., SimApp]


@pytest.fixture
def make_sim() -> SimMaker:
    def make(version: str = "8.4", **settings: Any) -> SimApp:
        settings.setdefault("token", TOKEN)
        return create_app(SimConfig(version=version, **settings))

    return make


@pytest.fixture
def control(http_clients: list[httpx.AsyncClient]) -> Callable[[Any], SimControl]:
    """`control(app_or_url)`: the simulator's control routes."""

    def make(target: Any) -> SimControl:
        if isinstance(target, str):
            client = httpx.AsyncClient(base_url=target, timeout=30)
        else:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url=BASE)
        http_clients.append(client)
        return SimControl(client)

    return make


WriterMaker = Callable[..., Writer]


@pytest.fixture
def make_writer(
    redis_client: redis.Redis,
    prefix: str,
    clock: FakeClock,
    http_clients: list[httpx.AsyncClient],
) -> WriterMaker:
    """`make_writer(app_or_url, version=..., dry_run=..., key_prefix=..., **options)`.

    Writers of one test share Redis keys (as replicas do) unless given a `key_prefix`.
    """

    def make(
        target: Any,
        *,
        version: str = "auto",
        dry_run: bool = False,
        token: bool = False,
        use_clock: Any = None,
        key_prefix: str | None = None,
        **options: Any,
    ) -> Writer:
        url = target if isinstance(target, str) else BASE
        keys = prefix + (key_prefix or "")
        config = make_config(url, prefix=keys, version=version, dry_run=dry_run, token=token)
        if isinstance(target, str):
            client = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10.0))
        else:
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url=url)
        http_clients.append(client)
        opts = WriterOptions.from_config(config, **options)
        return build_writer(
            config,
            redis_client=redis_client,
            http_client=client,
            clock=use_clock if use_clock is not None else clock,
            options=opts,
        )

    return make


@pytest.fixture
async def served() -> AsyncIterator[Callable[[SimApp], Awaitable[str]]]:
    """Serve a simulator under real uvicorn on a free port (real sockets, real drops)."""
    servers = Servers()
    yield servers.start
    await servers.close()
