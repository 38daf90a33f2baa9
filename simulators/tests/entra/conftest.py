"""Fixtures for the Entra simulator tests: a fake clock, the app in-process, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from entra_sim_helpers import FakeClock, bearer, client, make_app

from roster.simulators.entra import EntraSimulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> EntraSimulator:
    return make_app(clock)


@pytest.fixture
async def http(app: EntraSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as c:
        yield c


@pytest.fixture
async def auth(http: httpx.AsyncClient, app: EntraSimulator) -> dict[str, str]:
    return await bearer(http, app)
