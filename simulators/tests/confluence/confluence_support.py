"""Shared helpers of the Confluence simulator tests: constants, a fake clock, the `Sim` handle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from roster.simulators.confluence import SimApp

VERSIONS = ["7.13", "8.2", "8.4", "9.3"]
RPC = "/rpc/json-rpc/confluenceservice-v2"
BASE = "http://confluence.example.com:8090"


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Sim:
    app: SimApp
    client: httpx.AsyncClient

    async def seed(self, users: list[dict[str, Any]], groups: list[str] | None = None) -> None:
        response = await self.client.post(
            "/_sim/users", json={"users": users, "groups": groups or []}
        )
        assert response.status_code == 201, response.text

    async def log(self, since: int = 0) -> list[dict[str, Any]]:
        return (await self.client.get(f"/_sim/requests?since={since}")).json()["entries"]

    async def state(self) -> dict[str, Any]:
        return (await self.client.get("/_sim/state")).json()

    async def rpc(self, method: str, *params: Any, rid: int = 1) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)}
        response = await self.client.post(RPC, json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())


SimFactory = Callable[..., Awaitable[Sim]]
