"""Fault injection for simulators: error rate and status, latency, dropped connections.

Switchable at run time through each simulator's `/_sim/faults` control route. A dropped
connection is real: the ASGI app raises before sending a response, so uvicorn closes the
socket and the client sees a transport error, as with a crashed proxy.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class DroppedConnectionError(Exception):
    """Raised inside the ASGI app so the server closes the connection without a response."""


class Faults(BaseModel):
    """What a simulator does wrong on purpose. All rates are shares of requests, 0.0 – 1.0."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of matching requests answered with `error_status` instead of being served."""
    error_status: int = Field(default=503, ge=400, le=599)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of matching requests whose connection is closed without any response."""
    latency_ms: float = Field(default=0.0, ge=0.0)
    """Delay added before every matching request, in milliseconds."""
    methods: list[str] = Field(default_factory=list)
    """Only requests with these HTTP methods are affected; empty means all methods."""
    seed: int | None = None
    """Seed for the random choices, so a test can replay the same fault sequence."""


class FaultInjector:
    """ASGI middleware applying `Faults` to every request outside the `/_sim/` control routes."""

    def __init__(self, app: ASGIApp, faults: Callable[[], Faults]) -> None:
        self._app = app
        self._faults = faults
        self._random = random.Random()
        self._seeded: int | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim/"):
            await self._app(scope, receive, send)
            return
        faults = self._faults()
        if faults.seed is not None and faults.seed != self._seeded:
            self._random.seed(faults.seed)
            self._seeded = faults.seed
        if faults.methods and scope["method"] not in faults.methods:
            await self._app(scope, receive, send)
            return
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        roll = self._random.random()
        if roll < faults.drop_rate:
            raise DroppedConnectionError(scope["path"])
        if roll < faults.drop_rate + faults.error_rate:
            response = JSONResponse(
                {"statusCode": faults.error_status, "message": "injected fault"},
                status_code=faults.error_status,
            )
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)


class RequestLog:
    """Every request a simulator served, with what it did to the state.

    `effect` is `applied` when the request changed state, `noop` when it was a write that
    changed nothing (idempotent repeat), `read` for reads and `rejected` for errors. Tests
    assert "no write applied twice" on this log.
    """

    def __init__(self, limit: int = 1_000_000) -> None:
        self._entries: list[dict[str, Any]] = []
        self._limit = limit

    def add(self, **entry: Any) -> None:
        if len(self._entries) < self._limit:
            self._entries.append(entry)

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        return self._entries[since:]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def filtered(entries: Iterable[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [e for e in entries if all(e.get(k) == v for k, v in match.items())]
