"""Okta delta syncs: System Log polling from a cursor, re-reading what the events name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fetcher_support import FakeClock, FakeSleep
from test_fetcher_okta_support import TOKEN, TOKEN_ENV, client_for, connect, make_sim

from roster.fetcher.connectors.okta import OktaConnector
from roster.fetcher.core.changes import (
    CursorExpired,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)
from roster.simulators.okta import OktaSimulator


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> OktaSimulator:
    return make_sim(clock, users=60, groups=6, memberships=150)


@pytest.fixture
async def control(sim: OktaSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sim) as client:
        yield client


@pytest.fixture
async def connector(sim: OktaSimulator, clock: FakeClock) -> AsyncIterator[OktaConnector]:
    made, http = connect(sim, clock, FakeSleep(clock), logs_page_size=3)
    async with http:
        yield made


async def _org(control: httpx.AsyncClient) -> dict[str, Any]:
    return (await control.get("/_sim/directory")).raise_for_status().json()


async def _ok(response: Any) -> Any:
    return (await response).raise_for_status().json() if response else None


async def test_nothing_changed_gives_no_changes_and_keeps_the_cursor(
    connector: OktaConnector,
) -> None:
    cursor = await connector.start_cursor()
    result = await connector.changes(cursor)
    assert result.changes == ()
    assert result.cursor == cursor


async def test_every_kind_of_change_is_read_once(
    connector: OktaConnector, control: httpx.AsyncClient, clock: FakeClock
) -> None:
    org = await _org(control)
    groups = [g for g in org["groups"] if g["type"] == "OKTA_GROUP"]
    groups.sort(key=lambda g: len(org["memberships"][g["id"]]))
    groups = [g for g in groups if org["memberships"][g["id"]]]
    g1, g2 = groups[0]["id"], groups[1]["id"]
    active = [u for u in org["users"] if u["status"] == "ACTIVE"]
    stays, leaves, renamed, suspended = (u["id"] for u in active[:4])
    joiner = next(u["id"] for u in active if u["id"] not in org["memberships"][g1])
    member = org["memberships"][g2][0]
    cursor = await connector.start_cursor()
    clock.advance(1)
    new = await _ok(control.post("/_sim/users", json={
        "login": "new.person@example.com", "email": "new.person@example.com",
        "firstName": "New", "lastName": "Person", "groups": [g1]}))  # fmt: skip
    await _ok(control.patch(f"/_sim/users/{renamed}", json={"profile": {"lastName": "Renamed"}}))
    await _ok(control.patch(f"/_sim/users/{suspended}", json={"status": "SUSPENDED"}))
    await _ok(control.put(f"/_sim/groups/{g1}/members/{joiner}"))
    await _ok(control.delete(f"/_sim/groups/{g2}/members/{member}"))
    await _ok(control.patch(f"/_sim/groups/{g2}", json={"name": "Renamed Group"}))
    (await control.delete(f"/_sim/users/{leaves}")).raise_for_status()
    created = await _ok(control.post("/_sim/groups", json={"name": "brand-new"}))
    doomed = groups[2]["id"]
    (await control.delete(f"/_sim/groups/{doomed}")).raise_for_status()
    # a membership change of a user changed back and forth: the current state wins
    await _ok(control.put(f"/_sim/groups/{g2}/members/{stays}"))
    await _ok(control.delete(f"/_sim/groups/{g2}/members/{stays}"))

    result = await connector.changes(cursor)
    changes = list(result.changes)
    upserted = {c.user.subject: c.user for c in changes if isinstance(c, UserUpserted)}
    assert set(upserted) == {new["id"], renamed, suspended}
    assert upserted[renamed].family_name == "Renamed"
    assert upserted[suspended].active is False
    assert upserted[new["id"]].login == "new.person@example.com"
    assert [c.subject for c in changes if isinstance(c, UserDeleted)] == [leaves]
    groups_up = {c.group.id: c.group.name for c in changes if isinstance(c, GroupUpserted)}
    assert groups_up == {g2: "Renamed Group", created["id"]: "brand-new"}
    assert [c.group_id for c in changes if isinstance(c, GroupDeleted)] == [doomed]
    added = {(c.group_id, c.subject) for c in changes if isinstance(c, MemberAdded)}
    removed = {(c.group_id, c.subject) for c in changes if isinstance(c, MemberRemoved)}
    assert (g1, new["id"]) in added
    assert (g1, joiner) in added
    assert (g2, member) in removed
    assert (g2, stays) in removed
    assert not any(gid == "00g00000000everyone" for gid, _ in added | removed)

    again = await connector.changes(result.cursor)
    assert again.changes == ()


async def test_events_at_the_cursor_instant_are_not_read_twice(
    connector: OktaConnector, control: httpx.AsyncClient
) -> None:
    org = await _org(control)
    first, second = org["users"][0]["id"], org["users"][1]["id"]
    cursor = await connector.start_cursor()
    await _ok(control.patch(f"/_sim/users/{first}", json={"profile": {"title": "One"}}))
    one = await connector.changes(cursor)
    # same millisecond on the org's clock (the fake clock did not move)
    await _ok(control.patch(f"/_sim/users/{second}", json={"profile": {"title": "Two"}}))
    two = await connector.changes(one.cursor)
    assert [c.user.subject for c in one.changes if isinstance(c, UserUpserted)] == [first]
    assert [c.user.subject for c in two.changes if isinstance(c, UserUpserted)] == [second]


async def test_cursor_older_than_the_log_retention_is_expired(
    connector: OktaConnector, control: httpx.AsyncClient, clock: FakeClock
) -> None:
    cursor = await connector.start_cursor()
    await _ok(control.put("/_sim/log-retention", json={"seconds": 3600}))
    clock.advance(7200)
    with pytest.raises(CursorExpired, match="retention"):
        await connector.changes(cursor)


async def test_garbage_cursor_is_expired(connector: OktaConnector) -> None:
    with pytest.raises(CursorExpired):
        await connector.changes("not-a-cursor")
