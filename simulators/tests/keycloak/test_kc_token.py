"""Token endpoint and bearer checks: Keycloak's error codes, expiry on an injected clock."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from kc_helpers import ADMIN, SECRET, TOKEN_PATH, FakeClock, fetch_token


def _basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def test_client_credentials_with_form_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": "roster-sync",
            "client_secret": SECRET,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["refresh_expires_in"] == 0
    assert "refresh_token" not in body
    header, payload, signature = body["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["azp"] == "roster-sync"
    assert claims["iss"].endswith("/realms/roster")
    assert claims["exp"] - claims["iat"] == 300
    assert "view-users" in claims["resource_access"]["realm-management"]["roles"]


async def test_client_credentials_with_basic_auth(client: httpx.AsyncClient) -> None:
    response = await client.post(
        TOKEN_PATH, data={"grant_type": "client_credentials"}, headers=_basic("roster-sync", SECRET)
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("data", "headers", "status", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "roster-sync", "client_secret": "x"},
            {},
            401,
            "unauthorized_client",
        ),
        (
            {"grant_type": "client_credentials"},
            _basic("roster-sync", "wrong"),
            401,
            "unauthorized_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "roster-sync"},
            {},
            401,
            "unauthorized_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "other", "client_secret": SECRET},
            {},
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, {}, 400, "invalid_client"),
        ({"client_id": "roster-sync", "client_secret": SECRET}, {}, 400, "invalid_request"),
        (
            {"grant_type": "password", "client_id": "roster-sync", "client_secret": SECRET},
            {},
            400,
            "unsupported_grant_type",
        ),
    ],
)
async def test_token_errors(
    client: httpx.AsyncClient,
    data: dict[str, str],
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    response = await client.post(TOKEN_PATH, data=data, headers=headers)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "error_description" in response.json()


async def test_wrong_secret_message_is_keycloaks(client: httpx.AsyncClient) -> None:
    response = await client.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": "roster-sync",
            "client_secret": "bad",
        },
    )
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "Invalid client or Invalid client credentials",
    }


async def test_unknown_realm(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/realms/nope/protocol/openid-connect/token", data={"grant_type": "client_credentials"}
    )
    assert response.status_code == 404
    assert response.json() == {"error": "Realm does not exist"}


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
async def test_admin_api_refuses_missing_or_unknown_token(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get(f"{ADMIN}/users", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "HTTP 401 Unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_expires_after_ttl(client: httpx.AsyncClient, clock: FakeClock) -> None:
    token = await fetch_token(client)
    headers = {"Authorization": f"Bearer {token}"}
    clock.advance(299.9)
    assert (await client.get(f"{ADMIN}/users/count", headers=headers)).status_code == 200
    clock.advance(0.1)
    response = await client.get(f"{ADMIN}/users/count", headers=headers)
    assert response.status_code == 401
    fresh = await fetch_token(client)
    ok = await client.get(f"{ADMIN}/users/count", headers={"Authorization": f"Bearer {fresh}"})
    assert ok.status_code == 200


async def test_token_ttl_control_applies_to_new_tokens(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    old = await fetch_token(client)
    assert (await client.put("/_sim/token-ttl", json={"seconds": 5})).json() == {"seconds": 5}
    new = await fetch_token(client)
    clock.advance(6)
    for token, status in ((new, 401), (old, 200)):
        response = await client.get(
            f"{ADMIN}/users/count", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == status
    assert (await client.get("/_sim/token-ttl")).json() == {"seconds": 5}


async def test_revoking_all_tokens(client: httpx.AsyncClient) -> None:
    token = await fetch_token(client)
    assert (await client.delete("/_sim/tokens")).json() == {"revoked": 1}
    response = await client.get(f"{ADMIN}/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
