"""Serve a simulator under real uvicorn on a free loopback port, for tests and benchmarks.

Real sockets matter: dropped connections and latency faults only look real over TCP. A
stopping server waits at most `SHUTDOWN_SECONDS` for open connections, so a client that
keeps one open can never hang a test's teardown.
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from starlette.types import ASGIApp

SHUTDOWN_SECONDS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Servers:
    """Starts apps on free ports; `close()` stops every one of them."""

    def __init__(self) -> None:
        self._running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(self, app: ASGIApp, port: int | None = None) -> str:
        """Serve `app` on `port` (a free one when None); returns its base URL."""
        port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="critical",
            timeout_graceful_shutdown=SHUTDOWN_SECONDS,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        self._running.append((server, task))
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        for server, task in self._running:
            server.should_exit = True
            await task
        self._running.clear()
