"""Helpers for the Google simulator tests (uniquely named so they never clash)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from google.auth import crypt, jwt

from roster.simulators.google import GoogleSimulator
from roster.simulators.google.config import READONLY_SCOPES

BASE = "http://google.test"
DIRECTORY = "/admin/directory/v1"
ACTIVITIES = "/admin/reports/v1/activity/users/all/applications/admin"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class FakeClock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def assertion(
    key_file: dict[str, Any], *, now: float, sub: str | None = "admin@example.com",
    scopes: tuple[str, ...] = READONLY_SCOPES, **override: Any,
) -> str:  # fmt: skip
    signer = crypt.RSASigner.from_service_account_info(key_file)
    claims: dict[str, Any] = {
        "iss": key_file["client_email"],
        "aud": key_file["token_uri"],
        "scope": " ".join(scopes),
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    if sub is not None:
        claims["sub"] = sub
    claims.update(override)
    signed: bytes = jwt.encode(signer, claims)
    return signed.decode()


async def token_response(client: httpx.AsyncClient, signed: str) -> httpx.Response:
    return await client.post("/token", data={"grant_type": JWT_BEARER, "assertion": signed})


async def token_for(
    client: httpx.AsyncClient, app: GoogleSimulator, *, now: float, **claims: Any
) -> str:
    response = await token_response(client, assertion(app.state.key_file(), now=now, **claims))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@dataclass
class Api:
    client: httpx.AsyncClient
    token: str

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(
            path, params=params, headers={"Authorization": f"Bearer {self.token}"}
        )

    async def post(self, path: str, body: Any, **params: Any) -> httpx.Response:
        return await self.client.post(
            path, params=params, json=body, headers={"Authorization": f"Bearer {self.token}"}
        )

    async def all_pages(self, path: str, key: str, **params: Any) -> tuple[list[Any], int]:
        items: list[Any] = []
        pages = 0
        token: str | None = None
        while True:
            query = {**params, **({"pageToken": token} if token else {})}
            response = await self.get(path, **query)
            assert response.status_code == 200, response.text
            body = response.json()
            pages += 1
            items += body.get(key, [])
            token = body.get("nextPageToken")
            if not token:
                return items, pages
