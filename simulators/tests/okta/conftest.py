"""Fixtures for the Okta simulator tests: a fake clock, the app in-process, an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from okta_sim_helpers import CLIENT_ID, ORG, PUBLIC_PEM, TOKEN, FakeClock

from roster.simulators.okta import OktaSimConfig, OktaSimulator, create_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> OktaSimulator:
    return create_app(
        OktaSimConfig(
            api_token=TOKEN,
            client_id=CLIENT_ID,
            public_key_pem=PUBLIC_PEM,
            users=450,
            groups=14,
            memberships=1500,
            seed=7,
            base_url=ORG,
            clock=clock,
        )  # fmt: skip
    )


@pytest.fixture
async def client(app: OktaSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORG) as c:
        yield c
