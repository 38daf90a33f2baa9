"""Fixtures for the Confluence simulator tests: in-process clients, a fake clock, real uvicorn."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from confluence_support import BASE, Sim, SimFactory

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def served() -> AsyncIterator[Callable[[SimApp], Awaitable[str]]]:
    """Serve apps under real uvicorn on free ports; yields a starter returning the base URL."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(app: SimApp) -> str:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.01)
        servers.append((server, task))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, task in servers:
        server.should_exit = True
        await task
