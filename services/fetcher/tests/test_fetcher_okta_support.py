"""Helpers for the Okta connector tests (no tests here): settings, a key pair, the simulator
in-process on a shared fake clock, and a connector talking to it over httpx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fetcher_support import FakeClock, FakeSleep, hooks

from roster.fetcher.connectors.okta import OktaConnector
from roster.shared.config import DirectorySettings
from roster.simulators.okta import OktaSimConfig, OktaSimulator, create_app

ORG = "http://okta.test"
TOKEN = "okta-test-token-5d1e"
TOKEN_ENV = "ROSTER_TEST_OKTA_TOKEN"
KEY_ENV = "ROSTER_TEST_OKTA_KEY"
CLIENT_ID = "0oaroster0sync0app01"

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC_PEM = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def okta_settings(
    *, use_oauth: bool = False, directory: str = "okta", **okta: Any
) -> DirectorySettings:
    section: dict[str, Any] = {"org_url": ORG, **okta}
    if use_oauth or "oauth" in okta:
        section.setdefault("oauth", {"client_id": CLIENT_ID, "private_key": {"env": KEY_ENV}})
    else:
        section.setdefault("api_token", {"env": TOKEN_ENV})
    return DirectorySettings.model_validate({"id": directory, "kind": "okta", "okta": section})


def make_sim(clock: Callable[[], float], **overrides: Any) -> OktaSimulator:
    options: dict[str, Any] = {
        "api_token": TOKEN,
        "client_id": CLIENT_ID,
        "public_key_pem": PUBLIC_PEM,
        "users": 450,
        "groups": 12,
        "memberships": 2000,
        "seed": 5,
        "base_url": ORG,
        "clock": clock,
    }
    options.update(overrides)
    return create_app(OktaSimConfig(**options))


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORG, timeout=30)


def connect(
    app: Any, clock: FakeClock, sleep: FakeSleep, *, attempts: int = 6, **settings: Any
) -> tuple[OktaConnector, httpx.AsyncClient]:
    http = client_for(app)
    connector = OktaConnector(
        okta_settings(**settings), http, hooks(clock=clock, sleep=sleep, attempts=attempts)
    )
    return connector, http
