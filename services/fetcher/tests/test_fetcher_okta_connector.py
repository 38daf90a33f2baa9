"""Okta connector against the simulator: full snapshots, statuses, paging, auth, throttling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fetcher_support import FakeClock, FakeSleep, collect
from test_fetcher_okta_support import (
    CLIENT_ID,
    KEY_ENV,
    PRIVATE_PEM,
    TOKEN,
    TOKEN_ENV,
    client_for,
    connect,
    make_sim,
)

from roster.shared.errors import PermanentError, RejectedError, TransientError
from roster.simulators.okta import OktaSimulator

INACTIVE = {"STAGED", "SUSPENDED", "DEPROVISIONED"}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(KEY_ENV, PRIVATE_PEM)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep(clock: FakeClock) -> FakeSleep:
    return FakeSleep(clock)


@pytest.fixture
def sim(clock: FakeClock) -> OktaSimulator:
    return make_sim(clock)


@pytest.fixture
async def control(sim: OktaSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sim) as client:
        yield client


async def _directory(control: httpx.AsyncClient) -> dict[str, Any]:
    return (await control.get("/_sim/directory")).raise_for_status().json()


async def _requests(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await control.get("/_sim/requests")).raise_for_status().json()


@pytest.mark.parametrize("oauth", [False, True], ids=["ssws", "private_key_jwt"])
async def test_full_snapshot_matches_the_org(
    sim: OktaSimulator, control: httpx.AsyncClient, clock: FakeClock, sleep: FakeSleep, oauth: bool
) -> None:
    connector, http = connect(sim, clock, sleep, use_oauth=oauth)
    async with http:
        snap = await collect(connector)
    org = await _directory(control)
    assert {u.subject for u in snap.users} == {u["id"] for u in org["users"]}
    by_id = {u["id"]: u for u in org["users"]}
    for user in snap.users:
        source = by_id[user.subject]
        assert user.login == source["login"]
        assert user.email == source["email"]
        assert user.active is (source["status"] not in INACTIVE)
        assert user.attributes["status"] == source["status"]
        shown = source["displayName"]
        assert user.display_name == shown
    statuses = {s["status"] for s in by_id.values()}
    assert statuses >= {"ACTIVE", "STAGED", "SUSPENDED", "DEPROVISIONED", "LOCKED_OUT"}
    wanted = {g["id"] for g in org["groups"] if g["type"] != "BUILT_IN"}
    assert {g.id for g in snap.groups} == wanted
    for group_id in wanted:
        assert sorted(snap.members[group_id]) == org["memberships"][group_id]
    log = await _requests(control)
    user_pages = [
        e for e in log if e["path"] == "/api/v1/users" and "DEPROVISIONED" not in e["query"]
    ]
    assert len(user_pages) == 3  # 448 listed users at 200 a page, followed by Link
    assert all("limit=200" in e["query"] for e in user_pages)
    assert sum("after=" in e["query"] for e in user_pages) == 2
    expected_auth = "Bearer" if oauth else "SSWS"
    assert {e["auth"] for e in log if e["path"].startswith("/api/")} == {expected_auth}


async def test_fetch_user_and_groups(
    sim: OktaSimulator, control: httpx.AsyncClient, clock: FakeClock, sleep: FakeSleep
) -> None:
    org = await _directory(control)
    subject = org["users"][3]["id"]
    connector, http = connect(sim, clock, sleep)
    async with http:
        user = await connector.fetch_user(subject)
        groups = await connector.user_groups(subject)
        assert await connector.fetch_user("00unosuchuser0000000") is None
        assert await connector.user_groups("00unosuchuser0000000") == []
    assert user is not None
    assert user.subject == subject
    in_groups = {g for g, members in org["memberships"].items() if subject in members}
    types = {g["id"]: g["type"] for g in org["groups"]}
    assert {g.id for g in groups} == {g for g in in_groups if types[g] != "BUILT_IN"}


async def test_bad_api_token_is_permanent_and_names_the_secret(
    sim: OktaSimulator, clock: FakeClock, sleep: FakeSleep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "wrong")
    connector, http = connect(sim, clock, sleep)
    async with http:
        with pytest.raises(PermanentError, match=TOKEN_ENV) as caught:
            await connector.check()
    assert "E0000011" in str(caught.value)
    assert "wrong" not in str(caught.value)


async def test_missing_scope_is_rejected_with_the_scope_named(
    sim: OktaSimulator, clock: FakeClock, sleep: FakeSleep
) -> None:
    oauth = {"client_id": CLIENT_ID, "private_key": {"env": KEY_ENV}, "scopes": ["okta.users.read"]}
    connector, http = connect(sim, clock, sleep, oauth=oauth)
    async with http:
        with pytest.raises(RejectedError, match="okta.groups.read"):
            await connector.check()


async def test_oauth_token_reused_then_renewed_after_expiry_and_revocation(
    sim: OktaSimulator, control: httpx.AsyncClient, clock: FakeClock, sleep: FakeSleep
) -> None:
    await control.put("/_sim/token-ttl", json={"seconds": 600})
    connector, http = connect(sim, clock, sleep, use_oauth=True)
    async with http:
        await collect(connector)
        tokens = [e for e in await _requests(control) if e["path"] == "/oauth2/v1/token"]
        assert len(tokens) == 1
        clock.advance(601)
        await connector.check()
        await control.delete("/_sim/tokens")  # revoked early: one 401, then a fresh token
        await connector.check()
    log = await _requests(control)
    assert len([e for e in log if e["path"] == "/oauth2/v1/token"]) == 3
    assert len([e for e in log if e["status"] == 401]) == 1


async def test_pacing_waits_for_the_reset_instead_of_hitting_the_limit(
    sim: OktaSimulator, control: httpx.AsyncClient, clock: FakeClock, sleep: FakeSleep
) -> None:
    await control.put("/_sim/rate-limits", json={"limits": {"group": 5}})
    connector, http = connect(sim, clock, sleep, rate_limit_reserve=0.2)
    async with http:
        snap = await collect(connector)
    log = await _requests(control)
    assert not [e for e in log if e["status"] == 429]
    assert len(snap.groups) == 12
    assert sleep.delays
    assert all(0 < d <= 61 for d in sleep.delays)


async def test_429_storm_waits_until_reset_then_succeeds(
    sim: OktaSimulator, control: httpx.AsyncClient, clock: FakeClock, sleep: FakeSleep
) -> None:
    await control.put("/_sim/rate-limits", json={"storm": 3, "storm_reset_seconds": 30})
    connector, http = connect(sim, clock, sleep)
    async with http:
        snap = await collect(connector)
    assert len(snap.users) == 450
    log = await _requests(control)
    assert len([e for e in log if e["status"] == 429]) == 3
    assert len([d for d in sleep.delays if d >= 30]) == 3


async def test_429_storm_longer_than_the_retries_fails_transient(
    sim: OktaSimulator, control: httpx.AsyncClient, clock: FakeClock, sleep: FakeSleep
) -> None:
    await control.put("/_sim/rate-limits", json={"storm": 50, "storm_reset_seconds": 1})
    connector, http = connect(sim, clock, sleep, attempts=3)
    async with http:
        with pytest.raises(TransientError, match="E0000047"):
            await collect(connector)


async def test_server_errors_are_retried(
    sim: OktaSimulator, control: httpx.AsyncClient, clock: FakeClock, sleep: FakeSleep
) -> None:
    await control.put("/_sim/faults", json={"error_rate": 0.3, "error_status": 503, "seed": 4})
    connector, http = connect(sim, clock, sleep, attempts=10)
    async with http:
        snap = await collect(connector)
    assert len(snap.users) == 450
    assert [e for e in await _requests(control) if e["status"] == 503]
