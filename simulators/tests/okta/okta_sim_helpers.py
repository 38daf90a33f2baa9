"""Helpers for the Okta simulator tests: a fake clock, a key pair and client assertions."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ORG = "http://okta.test"
TOKEN = "okta-sim-test-token"
SSWS = {"Authorization": f"SSWS {TOKEN}"}
CLIENT_ID = "0oasimtestclient0001"
TOKEN_URL = f"{ORG}/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(
    now: float,
    *,
    key: rsa.RSAPrivateKey = KEY,
    client_id: str = CLIENT_ID,
    aud: str = TOKEN_URL,
    lifetime: int = 300,
    jti: str | None = None,
    alg: str = "RS256",
) -> str:
    header = {"alg": alg, "typ": "JWT"}
    claims: dict[str, Any] = {"iss": client_id, "sub": client_id, "aud": aud}
    claims.update(iat=int(now), exp=int(now) + lifetime, jti=jti or str(uuid.uuid4()))
    signing = ".".join(_b64(json.dumps(p).encode()) for p in (header, claims))
    signature = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing}.{_b64(signature)}"


def token_form(
    client_assertion: str, scope: str = "okta.users.read okta.groups.read"
) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion,
    }
