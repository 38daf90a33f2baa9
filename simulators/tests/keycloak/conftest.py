"""Fixtures for the Keycloak simulator tests: a fake clock, the app in-process, an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from kc_helpers import ADMIN, SECRET, AdminGet, FakeClock, fetch_token

from roster.simulators.keycloak import KeycloakSimConfig, KeycloakSimulator, create_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(clock: FakeClock) -> KeycloakSimConfig:
    return KeycloakSimConfig(
        client_secret=SECRET, users=250, groups=30, memberships=1500, seed=7, clock=clock
    )


@pytest.fixture
def app(config: KeycloakSimConfig) -> KeycloakSimulator:
    return create_app(config)


@pytest.fixture
async def client(app: KeycloakSimulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://keycloak.test") as c:
        yield c


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> AdminGet:
    """GET on the admin API with a valid bearer token: `await admin("/users", max=5)`."""
    token = await fetch_token(client)

    async def get(path: str, **params: object) -> httpx.Response:
        query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
        return await client.get(
            ADMIN + path, params=query, headers={"Authorization": f"Bearer {token}"}
        )

    return get
