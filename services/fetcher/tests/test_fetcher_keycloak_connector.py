"""The Keycloak connector against the Keycloak simulator over HTTP (in-process ASGI)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import structlog
from fetcher_support import (
    ADMIN,
    SECRET,
    Intercept,
    assert_same_directory,
    collect,
    expected_from,
)

from roster.fetcher.core.snapshot import GroupMembers
from roster.shared.errors import ConfigurationError, PermanentError, RejectedError, TransientError
from roster.shared.messages.directory import IdpUser


async def sim_get(ctl: httpx.AsyncClient, path: str) -> Any:
    response = await ctl.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def requests_log(ctl: httpx.AsyncClient, **match: Any) -> list[dict[str, Any]]:
    entries = await sim_get(ctl, "/_sim/requests")
    return [e for e in entries if all(e.get(k) == v for k, v in match.items())]


def query(entry: dict[str, Any]) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(entry["query"]).items()}


def assert_offsets_read_ahead(offsets: list[str], *, last: int, size: int = 100) -> None:
    """Every page up to the short one, each once; at most 3 read-ahead pages past it."""
    numbers = sorted(int(o) for o in offsets)
    assert len(numbers) == len(set(numbers))
    assert numbers[: last // size + 1] == list(range(0, last + 1, size))
    assert (
        numbers[last // size + 1 :]
        == list(range(last + size, last + size * 4, size))[: len(numbers) - last // size - 1]
    )


async def test_full_snapshot_equals_the_simulator_directory(make_sim, http, connect) -> None:
    sim = make_sim(users=450, groups=12, memberships=2000)
    ctl = http(sim)
    snap = await collect(connect(sim, page_size=100))
    want = expected_from(await sim_get(ctl, "/_sim/directory"))
    assert len(snap.users) == 450
    assert len(snap.groups) == 12
    assert any(g.parent_id for g in snap.groups), "the generated tree has nested groups"
    assert "/eng/eng-platform/eng-platform-oncall" in {g.path for g in snap.groups}
    assert_same_directory(snap, want)
    users = await requests_log(ctl, op="list_users")
    assert_offsets_read_ahead([query(e)["first"] for e in users], last=400)
    assert all(query(e)["briefRepresentation"] == "false" for e in users)
    members = await requests_log(ctl, op="group_members")
    assert all(query(e)["briefRepresentation"] == "true" for e in members)


async def test_paging_stops_after_an_empty_page_on_an_exact_multiple(
    make_sim, http, connect
) -> None:
    sim = make_sim(users=400, groups=0, memberships=0)
    ctl = http(sim)
    group = (await ctl.post("/_sim/groups", json={"name": "exactly-200"})).json()
    users = (await sim_get(ctl, "/_sim/directory"))["users"][:200]
    for user in users:
        assert (
            await ctl.put(f"/_sim/groups/{group['id']}/members/{user['id']}")
        ).status_code == 200
    await ctl.delete("/_sim/requests")

    snap = await collect(connect(sim, page_size=100))

    assert len(snap.users) == 400
    assert sorted(snap.members[group["id"]]) == sorted(u["id"] for u in users)
    offsets = [query(e)["first"] for e in await requests_log(ctl, op="list_users")]
    assert_offsets_read_ahead(offsets, last=400)
    member_pages = [(len(p.members), p.last) for p in snap.pages]
    assert member_pages == [(100, False), (100, False), (0, True)]


@pytest.mark.parametrize("page_size", [1, 7, 1000])
async def test_any_page_size_reads_the_same_directory(make_sim, http, connect, page_size) -> None:
    sim = make_sim(users=30, groups=12, memberships=120)
    snap = await collect(connect(sim, page_size=page_size))
    assert_same_directory(snap, expected_from(await sim_get(http(sim), "/_sim/directory")))


async def test_token_is_renewed_before_it_expires(make_sim, http, connect, clock) -> None:
    sim = make_sim(token_ttl=60)
    ctl = http(sim)

    async def time_passes(index: int, item: object) -> None:
        clock.advance(1.0)  # 450 users + pages: several token lifetimes

    snap = await collect(connect(sim), on_item=time_passes)

    assert len(snap.users) == 450
    assert len(await requests_log(ctl, op="token")) >= 3
    assert await requests_log(ctl, status=401) == []


async def test_token_revoked_mid_snapshot_is_fetched_again_once(make_sim, http, connect) -> None:
    sim = make_sim()
    ctl = http(sim)

    async def revoke(index: int, item: object) -> None:
        if index == 150:
            assert (await ctl.delete("/_sim/tokens")).status_code == 200

    snap = await collect(connect(sim), on_item=revoke)

    assert_same_directory(snap, expected_from(await sim_get(ctl, "/_sim/directory")))
    assert len(await requests_log(ctl, status=401)) == 1
    assert len(await requests_log(ctl, op="token")) == 2


async def test_token_expired_by_the_server_clock_is_fetched_again(make_sim, http, connect) -> None:
    sim_clock_offset = 0.0
    jumped: list[int] = []
    sim = make_sim(token_ttl=300, clock=lambda: 1_750_000_000.0 + sim_clock_offset)
    ctl = http(sim)

    async def server_clock_jumps(index: int, item: object) -> None:
        nonlocal sim_clock_offset
        first_group = isinstance(item, GroupMembers) and len(jumped) == 1
        if index == 100 or first_group:  # requests follow both jumps
            jumped.append(index)
            sim_clock_offset += 301  # the connector's own clock does not move

    snap = await collect(connect(sim), on_item=server_clock_jumps)

    assert_same_directory(snap, expected_from(await sim_get(ctl, "/_sim/directory")))
    # concurrent requests may all meet the expired token; only one fetches a new one
    assert len(await requests_log(ctl, status=401)) >= 2
    assert len(await requests_log(ctl, op="token")) == 3


async def test_wrong_secret_is_a_clear_permanent_error(make_sim, http, connect) -> None:
    sim = make_sim(client_secret="the-right-one")
    ctl = http(sim)
    with structlog.testing.capture_logs() as logs, pytest.raises(PermanentError) as caught:
        await collect(connect(sim))
    message = str(caught.value)
    assert "rejected the client credentials" in message
    assert "'roster-sync'" in message
    assert "realm 'roster'" in message
    assert "ROSTER_TEST_KC_SECRET" in message
    assert SECRET not in message
    assert SECRET not in repr(logs)
    assert len(await requests_log(ctl, op="token")) == 1, "bad credentials are not retried"


async def test_unknown_realm_names_the_setting(make_sim, connect) -> None:
    sim = make_sim()
    with pytest.raises(ConfigurationError, match=r"no realm 'nowhere'.*keycloak.realm"):
        await collect(connect(sim, realm="nowhere"))


async def test_token_refused_by_the_admin_api_after_a_fresh_token_is_permanent(
    make_sim, http, connect
) -> None:
    sim = make_sim()
    refuse = Intercept(sim, lambda m, p, n: (401, {}) if p.startswith(ADMIN) else None)
    with pytest.raises(PermanentError, match="refused a freshly issued token") as caught:
        await collect(connect(refuse))
    assert not isinstance(caught.value, TransientError)
    assert refuse.counts[f"{ADMIN}/users"] == 2, "one retry with a fresh token, no more"


@pytest.mark.parametrize(
    ("forbidden", "role"),
    [(f"{ADMIN}/users", "view-users"), (f"{ADMIN}/groups", "query-groups")],
)
async def test_403_names_the_missing_realm_management_role(
    make_sim, connect, forbidden, role
) -> None:
    sim = make_sim(users=20, groups=3, memberships=10)
    app = Intercept(sim, lambda m, p, n: (403, {}) if p == forbidden else None)
    with pytest.raises(RejectedError, match=f"needs the realm-management role '{role}'"):
        await collect(connect(app))
    assert app.counts[forbidden] == 1, "403 is not retried"


async def test_injected_503s_are_survived_by_retries(make_sim, http, connect, sleep) -> None:
    sim = make_sim()
    ctl = http(sim)
    faults = {"error_rate": 0.3, "error_status": 503, "seed": 11}
    assert (await ctl.put("/_sim/faults", json=faults)).status_code == 200

    snap = await collect(connect(sim))

    assert_same_directory(snap, expected_from(await sim_get(ctl, "/_sim/directory")))
    failures = await requests_log(ctl, status=503)
    assert len(failures) >= 10
    assert len(sleep.delays) == len(failures)
    assert all(0 < d <= 20.0 * 1.25 for d in sleep.delays)


async def test_a_persistent_outage_gives_up_after_the_finite_retries(
    make_sim, http, connect, sleep
) -> None:
    sim = make_sim()
    ctl = http(sim)
    await ctl.put("/_sim/faults", json={"error_rate": 1.0, "error_status": 503, "methods": ["GET"]})
    with pytest.raises(TransientError, match=r"503 to GET /users.*gave up after 6 attempts"):
        await collect(connect(sim, attempts=6))
    assert len(await requests_log(ctl, op="list_users")) == 6
    assert len(sleep.delays) == 5
    # 0.5 s doubling, ±25 % jitter: the ranges do not overlap, so the delays must grow
    assert all(a < b for a, b in zip(sleep.delays, sleep.delays[1:]))


async def test_retry_after_is_the_floor_of_the_delay(make_sim, connect, sleep) -> None:
    sim = make_sim(users=10, groups=2, memberships=5)
    app = Intercept(
        sim,
        lambda m, p, n: (429, {"Retry-After": "7"}) if p.endswith("/users") and n <= 2 else None,
    )
    snap = await collect(connect(app))
    assert len(snap.users) == 10
    assert len(sleep.delays) == 2
    assert all(d >= 7 for d in sleep.delays)


async def test_a_retry_after_longer_than_a_snapshot_waits_fails_fast(
    make_sim, connect, sleep
) -> None:
    sim = make_sim(users=10, groups=2, memberships=5)
    app = Intercept(
        sim, lambda m, p, n: (429, {"Retry-After": "3600"}) if p.endswith("/users") else None
    )
    with pytest.raises(TransientError, match="retry after 3600s"):
        await collect(connect(app))
    assert sleep.delays == []


async def test_a_group_deleted_during_the_snapshot_is_left_out(make_sim, http, connect) -> None:
    sim = make_sim(users=50, groups=12, memberships=200)
    ctl = http(sim)
    directory = await sim_get(ctl, "/_sim/directory")
    victim = next(g for g in directory["groups"] if g["name"] == "sales-emea")

    async def delete(index: int, item: object) -> None:
        if isinstance(item, GroupMembers) and item.group.name == "all-staff":
            assert (await ctl.delete(f"/_sim/groups/{victim['id']}")).status_code == 200

    snap = await collect(connect(sim), on_item=delete)

    assert victim["id"] not in snap.members
    assert len(snap.groups) == 11
    assert_same_directory(snap, expected_from(await sim_get(ctl, "/_sim/directory")))


async def test_fetch_user_reads_one_user_or_none(make_sim, http, connect) -> None:
    sim = make_sim(users=20, groups=2, memberships=10)
    connector = connect(sim)
    want = expected_from(await sim_get(http(sim), "/_sim/directory")).users[3]
    assert await connector.fetch_user(want.subject) == want
    assert await connector.fetch_user("00000000-0000-4000-8000-000000000000") is None


async def test_check_passes_and_fails_fast(make_sim, http, connect, sleep) -> None:
    sim = make_sim(users=5, groups=1, memberships=1)
    await connect(sim).check()
    bad = make_sim(users=5, groups=1, memberships=1, client_secret="other")
    with pytest.raises(PermanentError, match="rejected the client credentials"):
        await connect(bad).check()
    ctl = http(sim)
    await ctl.put("/_sim/faults", json={"error_rate": 1.0, "methods": ["GET"]})
    with pytest.raises(TransientError):
        await connect(sim).check()
    assert sleep.delays == [], "a connection check answers at once, without retries"


async def test_only_users_and_their_fields_come_from_the_users_listing(
    make_sim, http, connect
) -> None:
    sim = make_sim(users=3, groups=0, memberships=0)
    ctl = http(sim)
    await ctl.post(
        "/_sim/users",
        json={"username": "solo", "firstName": "Cher", "email": "", "attributes": {"x": "1"}},
    )
    snap = await collect(connect(sim))
    solo = next(u for u in snap.users if u.login == "solo")
    assert solo == IdpUser(
        subject=solo.subject,
        login="solo",
        given_name="Cher",
        display_name="Cher",
        attributes={"x": "1"},
    )
    assert not any(u.login.startswith("service-account-") for u in snap.users)
