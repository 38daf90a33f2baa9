"""The simulator's Management API: paging, filters, statuses, errors, System Log polling."""

from __future__ import annotations

import httpx
import pytest
from okta_sim_helpers import SSWS, FakeClock

from roster.simulators.okta import OktaSimulator


async def _all(client: httpx.AsyncClient, url: str) -> tuple[list[dict[str, object]], int]:
    items: list[dict[str, object]] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=SSWS)
        assert response.status_code == 200
        items += response.json()
        pages += 1
        next_url = response.links.get("next", {}).get("url")
    return items, pages


async def test_users_page_by_link_and_limit_is_capped_at_200(
    client: httpx.AsyncClient, app: OktaSimulator
) -> None:
    first = await client.get("/api/v1/users", params={"limit": 500}, headers=SSWS)
    assert len(first.json()) == 200
    assert first.links["self"]["url"].endswith("limit=200")
    users, pages = await _all(client, "/api/v1/users?limit=200")
    listed = [u for u in app.state.store.users.values() if u.status != "DEPROVISIONED"]
    assert len(users) == len(listed)
    assert len({u["id"] for u in users}) == len(users)
    assert pages == -(-len(listed) // 200)
    assert all(u["status"] != "DEPROVISIONED" for u in users)


async def test_deprovisioned_users_only_when_filtered(
    client: httpx.AsyncClient, app: OktaSimulator
) -> None:
    users, _ = await _all(client, '/api/v1/users?filter=status eq "DEPROVISIONED"')
    expected = {u.id for u in app.state.store.users.values() if u.status == "DEPROVISIONED"}
    assert expected
    assert {u["id"] for u in users} == expected


async def test_last_updated_filter_and_bad_filter(
    client: httpx.AsyncClient, app: OktaSimulator, clock: FakeClock
) -> None:
    user = next(iter(app.state.store.users.values()))
    clock.advance(10)
    await client.patch(f"/_sim/users/{user.id}", json={"profile": {"title": "New"}})
    since = '"2025-06-15T15:06:45.000Z"'  # after every generated user, before the change
    changed = await client.get(
        "/api/v1/users", params={"filter": f"lastUpdated gt {since}"}, headers=SSWS
    )
    assert [u["id"] for u in changed.json()] == [user.id]
    bad = await client.get("/api/v1/users", params={"filter": 'nickName sw "x"'}, headers=SSWS)
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "E0000031"


async def test_members_paged_with_the_default_of_1000(
    client: httpx.AsyncClient, app: OktaSimulator
) -> None:
    everyone = app.state.store.groups["00g00000000everyone"]
    page = await client.get(f"/api/v1/groups/{everyone.id}/users", headers=SSWS)
    assert len(page.json()) == min(1000, len(everyone.members))
    small = await client.get(f"/api/v1/groups/{everyone.id}/users?limit=100", headers=SSWS)
    assert "next" in small.links
    members, _ = await _all(client, f"/api/v1/groups/{everyone.id}/users?limit=100")
    assert {m["id"] for m in members} == everyone.members


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "E0000011"),
        ({"Authorization": "SSWS wrong"}, 401, "E0000011"),
        ({"Authorization": "Bearer unknown"}, 401, "E0000011"),
    ],
)
async def test_bad_credentials(
    client: httpx.AsyncClient, headers: dict[str, str], status: int, code: str
) -> None:
    response = await client.get("/api/v1/users", headers=headers)
    assert response.status_code == status
    assert response.json()["errorCode"] == code
    assert "x-rate-limit-remaining" in response.headers


async def test_unknown_user_is_404_e0000007(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users/00unosuchuser0000000", headers=SSWS)
    assert response.status_code == 404
    assert response.json()["errorCode"] == "E0000007"


async def test_rate_limit_headers_count_down_then_429_until_reset(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await client.put("/_sim/rate-limits", json={"limits": {"users": 3}})
    seen = []
    for _ in range(3):
        r = await client.get("/api/v1/users?limit=1", headers=SSWS)
        seen.append(int(r.headers["x-rate-limit-remaining"]))
    assert seen == [2, 1, 0]
    limited = await client.get("/api/v1/users?limit=1", headers=SSWS)
    assert limited.status_code == 429
    assert limited.json()["errorCode"] == "E0000047"
    reset = int(limited.headers["x-rate-limit-reset"])
    assert reset > clock.now
    assert (await client.get("/api/v1/users/x", headers=SSWS)).status_code == 404  # other bucket
    clock.now = reset
    assert (await client.get("/api/v1/users?limit=1", headers=SSWS)).status_code == 200


async def test_storm_answers_429_with_zero_limit(client: httpx.AsyncClient) -> None:
    await client.put("/_sim/rate-limits", json={"storm": 2, "storm_reset_seconds": 7})
    statuses = [(await client.get("/api/v1/groups", headers=SSWS)).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]


async def test_log_polling_always_has_a_next_link_and_resumes(
    client: httpx.AsyncClient, app: OktaSimulator, clock: FakeClock
) -> None:
    empty = await client.get("/api/v1/logs?sortOrder=ASCENDING", headers=SSWS)
    assert empty.json() == []
    resume = empty.links["next"]["url"]
    okta_groups = [g for g in app.state.store.groups.values() if g.type == "OKTA_GROUP"]
    group = min(okta_groups, key=lambda g: len(g.members))
    user = next(u for u in app.state.store.users.values() if u.id not in group.members)
    await client.put(f"/_sim/groups/{group.id}/members/{user.id}")
    page = await client.get(resume, headers=SSWS)
    events = page.json()
    assert [e["eventType"] for e in events] == ["group.user_membership.add"]
    assert {t["type"] for t in events[0]["target"]} == {"User", "UserGroup"}
    again = await client.get(page.links["next"]["url"], headers=SSWS)
    assert again.json() == []
    filtered = await client.get(
        "/api/v1/logs", params={"filter": 'eventType eq "user.lifecycle.create"'}, headers=SSWS
    )
    assert filtered.json() == []


async def test_log_since_outside_retention_is_400(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await client.put("/_sim/log-retention", json={"seconds": 86400})
    old = "2025-06-13T00:00:00.000Z"  # two days before the fake clock
    response = await client.get("/api/v1/logs", params={"since": old}, headers=SSWS)
    assert response.status_code == 400
    assert "retention" in response.json()["errorCauses"][0]["errorSummary"]


async def test_faults_and_request_log(client: httpx.AsyncClient) -> None:
    await client.put("/_sim/faults", json={"error_rate": 1.0, "error_status": 502})
    assert (await client.get("/api/v1/users", headers=SSWS)).status_code == 502
    await client.put("/_sim/faults", json={})
    log = (await client.get("/_sim/requests")).json()
    assert [(e["path"], e["status"], e["auth"]) for e in log] == [("/api/v1/users", 502, "SSWS")]


async def test_clear_leaves_an_empty_org_without_events(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_sim/clear")).json() == {"users": 0, "groups": 1, "memberships": 0}
    users = await client.get("/api/v1/users", headers=SSWS)
    assert users.json() == []
    assert (await client.get("/_sim/logs")).json() == []
    regenerated = await client.post(
        "/_sim/directory", json={"users": 5, "groups": 2, "memberships": 4}
    )
    assert regenerated.json()["users"] == 5
