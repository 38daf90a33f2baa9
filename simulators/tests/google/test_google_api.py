"""The Google simulator behaves like the Admin SDK where a sync client can tell: service-account
token checks, paging limits, required parameters, quota and throttle storms, watch channels,
the audit log's order, filters and retention, faults and the request log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from google_sim_helpers import (
    ACTIVITIES,
    DIRECTORY,
    Api,
    FakeClock,
    assertion,
    token_for,
    token_response,
)

from roster.simulators.google import GoogleSimulator
from roster.simulators.google.__main__ import main, parse_args
from roster.simulators.google.keys import ServiceAccount
from roster.simulators.google.store import rfc3339

# ---- token endpoint -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "status", "error", "text"),
    [
        ({"aud": "https://oauth2.googleapis.com/token"}, 400, "invalid_grant", "audience"),
        ({"iss": "someone@else.iam.gserviceaccount.com"}, 400, "invalid_grant", "issuer"),
        ({"exp_offset": 7200}, 400, "invalid_grant", "short-lived"),
        ({"iat_offset": -7200}, 400, "invalid_grant", "short-lived"),
        ({"sub": "nobody@example.com"}, 400, "invalid_grant", "Invalid email"),
        ({"scopes": ()}, 400, "invalid_scope", "scope"),
    ],
)
async def test_token_refuses_bad_assertions(
    client: httpx.AsyncClient, app: GoogleSimulator, clock: FakeClock,
    claims: dict[str, Any], status: int, error: str, text: str,
) -> None:  # fmt: skip
    now = clock()
    extra = dict(claims)
    if "exp_offset" in extra:
        extra["exp"] = int(now) + extra.pop("exp_offset")
    if "iat_offset" in extra:
        offset = extra.pop("iat_offset")
        extra["iat"], extra["exp"] = int(now) + offset, int(now) + offset + 3600
    response = await token_response(client, assertion(app.state.key_file(), now=now, **extra))
    assert response.status_code == status
    assert response.json()["error"] == error
    assert text in response.json()["error_description"]


async def test_token_refuses_a_key_the_simulator_did_not_issue(
    client: httpx.AsyncClient, app: GoogleSimulator, clock: FakeClock
) -> None:
    other = ServiceAccount.generate(app.state.account.client_email)
    forged = other.key_file(project_id="x", token_uri=app.state.token_uri)
    response = await token_response(client, assertion(forged, now=clock()))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid JWT Signature.",
    }


async def test_token_refuses_a_non_admin_subject_and_other_grants(
    client: httpx.AsyncClient, app: GoogleSimulator, clock: FakeClock
) -> None:
    plain = next(u.primary_email for u in app.state.store.users.values() if not u.is_admin)
    response = await token_response(client, assertion(app.state.key_file(), now=clock(), sub=plain))
    assert (response.status_code, response.json()["error"]) == (401, "unauthorized_client")
    other = await client.post("/token", data={"grant_type": "client_credentials"})
    assert other.json()["error"] == "unsupported_grant_type"


async def test_a_token_without_impersonation_cannot_read_the_directory(
    client: httpx.AsyncClient, app: GoogleSimulator, clock: FakeClock
) -> None:
    token = await token_for(client, app, now=clock(), sub=None)
    response = await Api(client, token).get(f"{DIRECTORY}/users", customer="my_customer")
    assert response.status_code == 403
    assert response.json()["error"]["errors"][0]["reason"] == "forbidden"


async def test_tokens_expire_and_can_be_revoked(
    api: Api, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert (await api.get(f"{DIRECTORY}/users", customer="my_customer")).status_code == 200
    clock.advance(3601)
    expired = await api.get(f"{DIRECTORY}/users", customer="my_customer")
    assert expired.status_code == 401
    assert expired.json()["error"]["status"] == "UNAUTHENTICATED"
    assert (await client.put("/_sim/settings", json={"token_ttl": 30})).status_code == 200


async def test_scopes_are_enforced_per_resource(
    client: httpx.AsyncClient, app: GoogleSimulator, clock: FakeClock
) -> None:
    users_only = ("https://www.googleapis.com/auth/admin.directory.user.readonly",)
    api = Api(client, await token_for(client, app, now=clock(), scopes=users_only))
    assert (await api.get(f"{DIRECTORY}/users", customer="my_customer")).status_code == 200
    denied = await api.get(f"{DIRECTORY}/groups", customer="my_customer")
    assert denied.status_code == 403
    assert denied.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"
    assert (await api.get(ACTIVITIES)).status_code == 403


# ---- directory reads ----------------------------------------------------------------------


async def test_users_page_through_every_user_once(api: Api, app: GoogleSimulator) -> None:
    users, pages = await api.all_pages(f"{DIRECTORY}/users", "users", customer="my_customer",
                                       maxResults=100)  # fmt: skip
    assert pages == 3
    assert len(users) == len({u["id"] for u in users}) == 231  # generated users + the admin
    default, _ = await api.all_pages(f"{DIRECTORY}/users", "users", domain="example.com")
    assert all(u["primaryEmail"].endswith("@example.com") for u in default)


@pytest.mark.parametrize(
    ("path", "limit"),
    [(f"{DIRECTORY}/users", 500), (f"{DIRECTORY}/groups", 200), (ACTIVITIES, 1000)],
)
async def test_max_results_above_the_limit_is_a_400(api: Api, path: str, limit: int) -> None:
    ok = await api.get(path, customer="my_customer", maxResults=limit)
    assert ok.status_code == 200
    too_many = await api.get(path, customer="my_customer", maxResults=limit + 1)
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == 400


async def test_lists_need_a_customer_or_domain_and_page_tokens_are_bound_to_their_list(
    api: Api, app: GoogleSimulator
) -> None:
    assert (await api.get(f"{DIRECTORY}/users")).status_code == 400
    foreign = await api.get(f"{DIRECTORY}/users", customer="C0other")
    assert foreign.status_code == 403
    first = (await api.get(f"{DIRECTORY}/users", customer="my_customer", maxResults=5)).json()
    other = await api.get(f"{DIRECTORY}/groups", customer="my_customer",
                          pageToken=first["nextPageToken"])  # fmt: skip
    assert other.status_code == 400


async def test_members_with_derived_membership_and_role_filter(
    api: Api, app: GoogleSimulator
) -> None:
    store = app.state.store
    parent = next(g for g in store.groups.values() if any(m in store.groups for m in g.members))
    direct, _ = await api.all_pages(f"{DIRECTORY}/groups/{parent.id}/members", "members")
    derived, _ = await api.all_pages(f"{DIRECTORY}/groups/{parent.id}/members", "members",
                                     includeDerivedMembership="true")  # fmt: skip
    assert {m["type"] for m in direct} == {"USER", "GROUP"}
    assert len({m["id"] for m in derived if m["type"] == "USER"}) > len(
        [m for m in direct if m["type"] == "USER"]
    )
    owners, _ = await api.all_pages(f"{DIRECTORY}/groups/{parent.id}/members", "members",
                                    roles="OWNER")  # fmt: skip
    assert owners == []
    by_email = await api.get(f"{DIRECTORY}/groups/{parent.email}")
    assert by_email.json()["id"] == parent.id


# ---- quota, storms, faults ----------------------------------------------------------------


async def test_the_per_minute_quota_is_a_403_user_rate_limit(
    api: Api, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await client.put("/_sim/settings", json={"quota_per_minute": 3})
    statuses = [
        (await api.get(f"{DIRECTORY}/users/admin@example.com")).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 403]
    refused = await api.get(f"{DIRECTORY}/users/admin@example.com")
    assert refused.json()["error"]["errors"][0] == {
        "message": refused.json()["error"]["message"], "domain": "usageLimits",
        "reason": "userRateLimitExceeded",
    }  # fmt: skip
    clock.advance(61)
    assert (await api.get(f"{DIRECTORY}/users/admin@example.com")).status_code == 200


async def test_a_429_storm_carries_retry_after(api: Api, client: httpx.AsyncClient) -> None:
    storm = {"count": 2, "status": 429, "reason": "rateLimitExceeded", "retry_after": 3}
    await client.put("/_sim/throttle", json=storm)
    first = await api.get(f"{DIRECTORY}/users", customer="my_customer")
    assert (first.status_code, first.headers["retry-after"]) == (429, "3")
    assert first.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert (await api.get(f"{DIRECTORY}/users", customer="my_customer")).status_code == 429
    assert (await api.get(f"{DIRECTORY}/users", customer="my_customer")).status_code == 200


async def test_faults_and_the_request_log(api: Api, client: httpx.AsyncClient) -> None:
    await client.put("/_sim/faults", json={"error_rate": 1.0, "error_status": 503})
    assert (await api.get(f"{DIRECTORY}/users", customer="my_customer")).status_code == 503
    await client.put("/_sim/faults", json={})
    await api.get(f"{DIRECTORY}/groups", customer="my_customer")
    log = (await client.get("/_sim/requests")).json()
    assert [(e["op"], e["status"]) for e in log][-2:] == [("users", 503), ("groups", 200)]
    assert not [e for e in log if e["path"].startswith("/_sim/")]


# ---- watch channels -----------------------------------------------------------------------


async def test_watch_validates_and_stop_ends_a_channel(api: Api, client: httpx.AsyncClient) -> None:
    url = f"{DIRECTORY}/users/watch"
    body = {"id": "c1", "type": "web_hook", "address": "http://127.0.0.1:9/hook",
            "params": {"ttl": "999999"}}  # fmt: skip
    assert (await api.post(url, body, customer="my_customer", event="nope")).status_code == 400
    assert (
        await api.post(url, {**body, "type": "email"}, customer="my_customer")
    ).status_code == 400
    created = await api.post(url, body, customer="my_customer", event="add")
    assert created.status_code == 200
    channel = created.json()
    assert int(channel["expiration"]) / 1000 - api_now(client) <= 172800  # capped at 2 days
    again = await api.post(url, body, customer="my_customer", event="add")
    assert again.json()["error"]["errors"][0]["reason"] == "channelIdNotUnique"
    wrong = await api.post("/admin/directory_v1/channels/stop", {"id": "c1", "resourceId": "x"})
    assert wrong.status_code == 404
    stop = await api.post("/admin/directory_v1/channels/stop",
                          {"id": "c1", "resourceId": channel["resourceId"]})  # fmt: skip
    assert stop.status_code == 204
    assert (await client.get("/_sim/channels")).json() == []


def api_now(client: httpx.AsyncClient) -> float:
    app = client._transport.app  # type: ignore[attr-defined]
    now: float = app.state.config.clock()
    return now


async def test_channels_expire(api: Api, client: httpx.AsyncClient, clock: FakeClock) -> None:
    body = {
        "id": "c2",
        "type": "web_hook",
        "address": "http://127.0.0.1:9/h",
        "params": {"ttl": 60},
    }
    assert (
        await api.post(f"{DIRECTORY}/users/watch", body, customer="my_customer")
    ).status_code == 200
    assert len((await client.get("/_sim/channels")).json()) == 1
    clock.advance(61)
    assert (await client.get("/_sim/channels")).json() == []


# ---- audit log ----------------------------------------------------------------------------


async def test_activities_are_newest_first_filtered_by_time_and_name(
    api: Api, client: httpx.AsyncClient, app: GoogleSimulator, clock: FakeClock
) -> None:
    user = next(u for u in app.state.store.users.values() if not u.is_admin)
    await client.patch(f"/_sim/users/{user.id}", json={"given_name": "A"})
    clock.advance(10)
    middle = clock()
    await client.patch(f"/_sim/users/{user.id}", json={"suspended": True})
    clock.advance(10)
    await client.delete(f"/_sim/users/{user.id}")
    items, _ = await api.all_pages(ACTIVITIES, "items")
    names = [i["events"][0]["name"] for i in items]
    assert names == ["DELETE_USER", "SUSPEND_USER", "CHANGE_FIRST_NAME"]
    later, _ = await api.all_pages(ACTIVITIES, "items", startTime=rfc3339(middle))
    assert [i["events"][0]["name"] for i in later] == ["DELETE_USER", "SUSPEND_USER"]
    only, _ = await api.all_pages(ACTIVITIES, "items", eventName="DELETE_USER")
    assert len(only) == 1
    old = await api.get(ACTIVITIES, startTime=rfc3339(clock() - 181 * 86400))
    assert old.status_code == 400


async def test_deleted_users_are_listed_with_show_deleted(
    api: Api, client: httpx.AsyncClient, app: GoogleSimulator
) -> None:
    user = next(u for u in app.state.store.users.values() if not u.is_admin)
    await client.delete(f"/_sim/users/{user.id}")
    assert (await api.get(f"{DIRECTORY}/users/{user.id}")).status_code == 404
    gone, _ = await api.all_pages(f"{DIRECTORY}/users", "users", customer="my_customer",
                                  showDeleted="true")  # fmt: skip
    assert [u["id"] for u in gone] == [user.id]
    assert "deletionTime" in gone[0]


async def test_report_lag_hides_recent_activities(
    api: Api, client: httpx.AsyncClient, app: GoogleSimulator, clock: FakeClock
) -> None:
    await client.put("/_sim/settings", json={"report_lag_seconds": 60})
    user = next(u for u in app.state.store.users.values() if not u.is_admin)
    await client.patch(f"/_sim/users/{user.id}", json={"given_name": "Lagging"})
    assert (await api.get(ACTIVITIES)).json().get("items") is None
    clock.advance(60)
    assert len((await api.get(ACTIVITIES)).json()["items"]) == 1


# ---- command line -------------------------------------------------------------------------


def test_cli_parses_sizes_and_writes_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, host, port, key = parse_args(
        ["--port", "9123", "--users", "12", "--groups", "3", "--memberships", "20",
         "--key-file", str(tmp_path / "k" / "sa.json")]
    )  # fmt: skip
    assert (config.users, config.groups, config.memberships, port) == (12, 3, 20, 9123)
    assert config.base_url == "http://127.0.0.1:9123"
    served: list[Any] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: served.append((app, kw)))
    main(["--port", "9123", "--users", "5", "--groups", "1", "--memberships", "5",
          "--key-file", str(tmp_path / "k" / "sa.json")])  # fmt: skip
    written = json.loads((tmp_path / "k" / "sa.json").read_text())
    assert written["type"] == "service_account"
    assert written["token_uri"] == "http://127.0.0.1:9123/token"
    assert (tmp_path / "k" / "sa.json").stat().st_mode & 0o777 == 0o600
    assert served[0][1]["port"] == 9123
