"""The Graph simulator's token endpoint, paging, `$select`, throttling and faults behave as
documented (idp-apis.md §1.1–1.3, §1.6), and its CLI builds the configured tenant."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from entra_sim_helpers import FakeClock, bearer, client, make_app, token, walk

from roster.simulators.entra import EntraSimulator
from roster.simulators.entra.__main__ import parse_args

TOKEN_ERRORS: list[tuple[str, dict[str, str], int, str, int]] = [
    ("bad secret", {"client_secret": "nope"}, 401, "invalid_client", 7000215),
    ("unknown app", {"client_id": "other"}, 400, "unauthorized_client", 700016),
    ("not .default", {"scope": "User.Read.All"}, 400, "invalid_scope", 1002012),
    ("wrong grant", {"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
]


@pytest.mark.parametrize(("case", "form", "status", "error", "code"), TOKEN_ERRORS)
async def test_token_errors(
    http: httpx.AsyncClient, app: EntraSimulator, case: str, form: dict[str, str],
    status: int, error: str, code: int,
) -> None:  # fmt: skip
    answer = await token(http, app, **form)
    assert answer.status_code == status, case
    body = answer.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")


async def test_unknown_tenant_and_token_expiry(
    http: httpx.AsyncClient, app: EntraSimulator, clock: FakeClock
) -> None:
    wrong = await http.post("/contoso.example/oauth2/v2.0/token", data={})
    assert wrong.json()["error_codes"] == [90002]
    good = await token(http, app)
    assert good.json()["expires_in"] == 3599
    assert good.json()["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {good.json()['access_token']}"}
    assert (await http.get("/v1.0/users", headers=headers)).status_code == 200
    clock.advance(3600)
    expired = await http.get("/v1.0/users", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "expired" in expired.json()["error"]["message"]
    assert (await http.get("/v1.0/users")).status_code == 401


async def test_users_paging_and_select(
    http: httpx.AsyncClient, app: EntraSimulator, auth: dict[str, str]
) -> None:
    first = (await http.get("/v1.0/users", headers=auth)).json()
    assert len(first["value"]) == 100  # default page
    assert "accountEnabled" not in first["value"][0]  # not in the default property set
    items, last = await walk(
        http, "/v1.0/users", auth, {"$top": 40, "$select": "id,userPrincipalName,accountEnabled"}
    )
    assert len(items) == 150
    assert len({u["id"] for u in items}) == 150
    assert set(items[0]) == {"id", "userPrincipalName", "accountEnabled"}
    assert "@odata.nextLink" not in last
    too_big = await http.get("/v1.0/users", params={"$top": 1000}, headers=auth)
    assert too_big.status_code == 400
    assert too_big.json()["error"]["code"] == "Request_UnsupportedQuery"


async def test_members_direct_transitive_and_member_of(
    http: httpx.AsyncClient, app: EntraSimulator, auth: dict[str, str]
) -> None:
    view = (await http.get("/_sim/directory")).json()
    parent = next(g for g, kids in view["nested"].items() if kids)
    direct, _ = await walk(http, f"/v1.0/groups/{parent}/members", auth, {"$top": 7})
    types = {m["@odata.type"] for m in direct}
    assert types == {"#microsoft.graph.user", "#microsoft.graph.group"}
    transitive, _ = await walk(http, f"/v1.0/groups/{parent}/transitiveMembers", auth)
    assert len(transitive) > len(direct)
    user = view["memberships"][parent][0]
    groups, _ = await walk(http, f"/v1.0/users/{user}/memberOf", auth)
    assert parent in {g["id"] for g in groups}
    missing = await http.get("/v1.0/groups/nope/members", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


async def test_resource_unit_bucket_answers_429_with_retry_after(clock: FakeClock) -> None:
    app = make_app(clock, rate_limit_ru=10)
    async with client(app) as http:
        headers = await bearer(http, app)
        statuses = []
        for _ in range(8):
            answer = await http.get("/v1.0/users", headers=headers)  # 2 RU each
            statuses.append(answer.status_code)
        assert statuses[:5] == [200] * 5
        assert 429 in statuses[5:]
        throttled = answer
        assert int(throttled.headers["Retry-After"]) >= 1
        assert throttled.headers["x-ms-throttle-scope"].startswith("Tenant_Application/Read/")
        assert throttled.json()["error"]["code"] == "TooManyRequests"
        clock.advance(10)
        assert (await http.get("/v1.0/users", headers=headers)).status_code == 200


async def test_storm_faults_and_request_log(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await http.put("/_sim/throttle", json={"storm": 2, "storm_retry_after": 5})
    answers = [await http.get("/v1.0/groups", headers=auth) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "5"
    await http.put("/_sim/faults", json={"error_rate": 1.0, "error_status": 503})
    assert (await http.get("/v1.0/groups", headers=auth)).status_code == 503
    await http.put("/_sim/faults", json={})
    log: list[dict[str, Any]] = (await http.get("/_sim/requests")).json()
    assert [e["status"] for e in log if e["path"] == "/v1.0/groups"] == [429, 429, 200, 503]
    assert all(not e["path"].startswith("/_sim/") for e in log)


def test_cli_builds_the_configured_tenant() -> None:
    config, host, port = parse_args(
        ["--port", "8123", "--client-secret", "s", "--users", "12", "--groups", "3",
         "--memberships", "20", "--rate-limit-ru", "500"]
    )  # fmt: skip
    assert (host, port) == ("127.0.0.1", 8123)
    assert (config.users, config.groups, config.memberships) == (12, 3, 20)
    assert config.rate_limit_ru == 500
    assert config.client_secret == "s"
