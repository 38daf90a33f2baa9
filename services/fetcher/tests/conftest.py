"""Fixtures of the fetcher tests: the Keycloak simulator in-process and a connector on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fetcher_support import (
    SECRET,
    SECRET_ENV,
    FakeClock,
    FakeSleep,
    asgi_client,
    directory_settings,
    hooks,
)

from roster.fetcher.connectors.keycloak import KeycloakConnector
from roster.simulators.keycloak import KeycloakSimConfig, KeycloakSimulator, create_app


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def make_sim(clock: FakeClock) -> Callable[..., KeycloakSimulator]:
    def make(**overrides: Any) -> KeycloakSimulator:
        options: dict[str, Any] = {
            "client_secret": SECRET,
            "users": 450,
            "groups": 12,
            "memberships": 2000,
            "seed": 5,
            "clock": clock,
        }
        options.update(overrides)
        return create_app(KeycloakSimConfig(**options))

    return make


@pytest.fixture
async def http() -> AsyncIterator[Callable[[Any], httpx.AsyncClient]]:
    """`http(asgi_app)`: an httpx client on that app, closed after the test."""
    clients: list[httpx.AsyncClient] = []

    def make(app: Any) -> httpx.AsyncClient:
        client = asgi_client(app)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def connect(
    http: Callable[[Any], httpx.AsyncClient], clock: FakeClock, sleep: FakeSleep
) -> Callable[..., KeycloakConnector]:
    """`connect(app, page_size=…)`: a Keycloak connector talking to `app` over httpx."""

    def make(
        app: Any, *, page_size: int = 100, attempts: int = 6, **settings: Any
    ) -> KeycloakConnector:
        return KeycloakConnector(
            directory_settings(page_size=page_size, **settings),
            http(app),
            hooks(clock=clock, sleep=sleep, attempts=attempts),
        )

    return make
