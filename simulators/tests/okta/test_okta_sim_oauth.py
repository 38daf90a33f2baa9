"""The simulator's OAuth token endpoint: private_key_jwt verified with the registered key."""

from __future__ import annotations

import httpx
import pytest
from okta_sim_helpers import OTHER_KEY, FakeClock, assertion, token_form


async def _token(client: httpx.AsyncClient, form: dict[str, str]) -> httpx.Response:
    return await client.post("/oauth2/v1/token", data=form)


async def test_good_assertion_gets_a_scoped_token_that_expires(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    response = await _token(client, token_form(assertion(clock.now), scope="okta.users.read"))
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "Bearer",
        3600,
        "okta.users.read",
    )
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.get("/api/v1/users", headers=bearer)).status_code == 200
    denied = await client.get("/api/v1/groups", headers=bearer)
    assert denied.status_code == 403
    assert "insufficient_scope" in denied.headers["www-authenticate"]
    clock.advance(3601)
    assert (await client.get("/api/v1/users", headers=bearer)).status_code == 401


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"key": OTHER_KEY}, "signature"),
        ({"aud": "http://elsewhere/oauth2/v1/token"}, "aud"),
        ({"lifetime": -10}, "expired"),
        ({"lifetime": 7200}, "one hour"),
        ({"client_id": "0oaunknown"}, "unknown client"),
        ({"alg": "HS256"}, "RS256"),
    ],
)
async def test_bad_assertions_are_invalid_client(
    client: httpx.AsyncClient, clock: FakeClock, change: dict[str, object], error: str
) -> None:
    response = await _token(client, token_form(assertion(clock.now, **change)))  # type: ignore[arg-type]
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert error in response.json()["error_description"]


async def test_replayed_jti_and_ungranted_scope(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    signed = assertion(clock.now, jti="same")
    assert (await _token(client, token_form(signed))).status_code == 200
    assert (await _token(client, token_form(assertion(clock.now, jti="same")))).status_code == 401
    scope = await _token(client, token_form(assertion(clock.now), scope="okta.users.manage"))
    assert (scope.status_code, scope.json()["error"]) == (400, "invalid_scope")


async def test_client_secret_is_not_enough(client: httpx.AsyncClient) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "x",
        "client_secret": "y",
        "scope": "okta.users.read",
    }
    response = await _token(client, form)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_revoked_tokens_and_token_ttl(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await client.put("/_sim/token-ttl", json={"seconds": 60})
    body = (await _token(client, token_form(assertion(clock.now)))).json()
    assert body["expires_in"] == 60
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.delete("/_sim/tokens")).json() == {"revoked": 1}
    assert (await client.get("/api/v1/users", headers=bearer)).status_code == 401
