"""Fixtures for the Google simulator tests: a fake clock, the app in-process, a signed token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from google_sim_helpers import BASE, Api, FakeClock, token_for

from roster.simulators.google import GoogleSimConfig, GoogleSimulator, create_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> GoogleSimulator:
    return create_app(
        GoogleSimConfig(users=230, groups=12, memberships=900, seed=3, base_url=BASE, clock=clock)
    )


@pytest.fixture
async def client(app: GoogleSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


@pytest.fixture
async def api(app: GoogleSimulator, client: httpx.AsyncClient, clock: FakeClock) -> Api:
    token = await token_for(client, app, now=clock())
    return Api(client, token)
