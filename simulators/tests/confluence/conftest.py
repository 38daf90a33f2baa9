"""Fixtures for the Confluence simulator tests: in-process clients, a fake clock, real uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from confluence_support import BASE, Sim, SimFactory

from roster.simulators.common.serving import Servers
from roster.simulators.confluence import SimApp, SimConfig, create_app


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    clients: list[httpx.AsyncClient] = []

    async def factory(version: str = "8.4", **settings: Any) -> Sim:
        app = create_app(SimConfig(version=version, **settings))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=BASE,
            auth=("admin", "admin"),
            headers={"Accept": "application/json"},
        )
        clients.append(client)
        return Sim(app, client)

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
async def sim(make_sim: SimFactory) -> Sim:
    return await make_sim("8.4")


@pytest.fixture
async def served() -> AsyncIterator[Callable[[SimApp], Awaitable[str]]]:
    """Serve apps under real uvicorn on free ports; yields a starter returning the base URL."""
    servers = Servers()
    yield servers.start
    await servers.close()
