"""100,000 users: a full paged walk is complete and a deep page costs what a shallow one does."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from kc_helpers import ADMIN, SECRET, fetch_token

from roster.simulators.keycloak import KeycloakSimConfig, KeycloakSimulator, create_app


@pytest.fixture(scope="module")
def big_app() -> KeycloakSimulator:
    return create_app(
        KeycloakSimConfig(client_secret=SECRET, users=100_000, groups=500, memberships=500_000)
    )


@pytest.fixture
async def big(
    big_app: KeycloakSimulator,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    transport = httpx.ASGITransport(app=big_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kc") as client:
        token = await fetch_token(client)
        yield client, {"Authorization": f"Bearer {token}"}


async def _pages(client: httpx.AsyncClient, headers: dict[str, str], start: int) -> float:
    began = time.perf_counter()
    for first in range(start, start + 30 * 100, 100):
        response = await client.get(
            f"{ADMIN}/users", params={"first": first, "max": 100}, headers=headers
        )
        assert len(response.json()) == 100
    return time.perf_counter() - began


async def test_walk_all_users(big: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    client, headers = big
    seen: set[str] = set()
    first = 0
    while True:
        response = await client.get(
            f"{ADMIN}/users",
            params={"first": first, "max": 100, "briefRepresentation": "true"},
            headers=headers,
        )
        page = response.json()
        seen.update(u["id"] for u in page)
        first += 100
        if len(page) < 100:
            break
    assert len(seen) == 100_000
    assert (await client.get(f"{ADMIN}/users/count", headers=headers)).json() == 100_000


async def test_deep_pages_are_not_slower(big: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    client, headers = big
    for start in (0, 96_000):  # warm both ranges: rendering is cached per user
        await _pages(client, headers, start)
    shallow = await _pages(client, headers, 0)
    deep = await _pages(client, headers, 96_000)
    assert deep < shallow * 3, (shallow, deep)
