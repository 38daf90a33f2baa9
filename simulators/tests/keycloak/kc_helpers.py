"""Helpers shared by the Keycloak simulator tests (a uniquely named module, not conftest)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

SECRET = "test-secret"
TOKEN_PATH = "/realms/roster/protocol/openid-connect/token"
ADMIN = "/admin/realms/roster"


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


AdminGet = Callable[..., Awaitable[httpx.Response]]


async def fetch_token(client: httpx.AsyncClient) -> str:
    response = await client.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": "roster-sync",
            "client_secret": SECRET,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def walk(
    admin: AdminGet, path: str, size: int, **params: object
) -> tuple[list[dict[str, object]], int]:
    """Page through `path` with first/max until a short page; returns (items, pages)."""
    items: list[dict[str, object]] = []
    pages = 0
    while True:
        response = await admin(path, first=len(items), max=size, **params)
        assert response.status_code == 200, response.text
        batch = response.json()
        pages += 1
        items += batch
        if len(batch) < size:
            return items, pages
