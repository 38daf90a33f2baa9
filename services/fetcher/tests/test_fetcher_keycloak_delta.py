"""Keycloak delta sync against the simulator's admin events: the delta applied to the
snapshot taken before equals the snapshot taken after; the cursor survives same-millisecond
events, and an expired (cleared) event log is reported as `CursorExpired`."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from fetcher_support import Snapshot, collect

from roster.fetcher.connectors.keycloak import KeycloakConnector
from roster.fetcher.core.changes import (
    ChangeSet,
    CursorExpired,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)
from roster.fetcher.core.keycloak import EventCursor


def view(snap: Snapshot) -> dict[str, Any]:
    return {
        "users": {u.subject: u for u in snap.users},
        "groups": {g.id: (g.name, g.parent_id) for g in snap.groups},
        "members": {g: set(m) for g, m in snap.members.items()},
    }


def apply(before: dict[str, Any], changes: ChangeSet) -> dict[str, Any]:
    """The test's own fold of a change set (the reconciler has its own in core/delta.py)."""
    users = dict(before["users"])
    groups = dict(before["groups"])
    members = {g: set(m) for g, m in before["members"].items()}
    for change in changes.changes:
        match change:
            case UserUpserted(user=user):
                users[user.subject] = user
            case UserDeleted(subject=subject):
                users.pop(subject, None)
                for m in members.values():
                    m.discard(subject)
            case GroupUpserted(group=group):
                groups[group.id] = (group.name, group.parent_id)
                members.setdefault(group.id, set())
            case GroupDeleted(group_id=gid):
                doomed = {gid}
                while True:
                    more = {g for g, (_, p) in groups.items() if p in doomed} - doomed
                    if not more:
                        break
                    doomed |= more
                for g in doomed:
                    groups.pop(g, None)
                    members.pop(g, None)
            case MemberAdded(group_id=gid, subject=subject):
                members.setdefault(gid, set()).add(subject)
            case MemberRemoved(group_id=gid, subject=subject):
                members.get(gid, set()).discard(subject)
    return {"users": users, "groups": groups, "members": members}


async def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def random_changes(ctl: httpx.AsyncClient, rng: random.Random, count: int, clock) -> None:
    directory = await ok(await ctl.get("/_sim/directory"))
    users = [u["id"] for u in directory["users"]]
    groups = [g["id"] for g in directory["groups"]]
    for step in range(count):
        if rng.random() < 0.5:
            clock.advance(0.001 * rng.randint(0, 2))  # same-millisecond events too
        kind = rng.choice(["rename", "disable", "add", "remove", "new", "delete", "group"])
        uid = rng.choice(users)
        gid = rng.choice(groups)
        if kind == "rename":
            await ok(await ctl.patch(f"/_sim/users/{uid}", json={"firstName": f"N{step}"}))
        elif kind == "disable":
            await ok(await ctl.patch(f"/_sim/users/{uid}", json={"enabled": False}))
        elif kind == "add":
            await ok(await ctl.put(f"/_sim/groups/{gid}/members/{uid}"))
        elif kind == "remove":
            await ok(await ctl.delete(f"/_sim/groups/{gid}/members/{uid}"))
        elif kind == "new":
            body = {"username": f"new-{step}-{rng.randint(0, 10**6)}", "email": f"n{step}@x.io",
                    "groups": [gid]}  # fmt: skip
            users.append((await ok(await ctl.post("/_sim/users", json=body)))["id"])
        elif kind == "delete" and len(users) > 10:
            users.remove(uid)
            await ok(await ctl.delete(f"/_sim/users/{uid}"))
        elif kind == "group":
            created = await ok(await ctl.post("/_sim/groups", json={"name": f"g{step}",
                                                                    "parentId": gid}))  # fmt: skip
            groups.append(created["id"])
            await ok(await ctl.put(f"/_sim/groups/{created['id']}/members/{uid}"))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_delta_applied_to_the_snapshot_before_equals_the_snapshot_after(
    make_sim, http, connect, clock, seed: int
) -> None:
    sim = make_sim(users=120, groups=10, memberships=400, seed=seed)
    ctl = http(sim)
    connector: KeycloakConnector = connect(sim, page_size=50)
    await random_changes(ctl, random.Random(seed), 5, clock)  # events before the cursor
    cursor = await connector.start_cursor()
    before = view(await collect(connector))
    await random_changes(ctl, random.Random(seed + 100), 40, clock)
    delta = await connector.changes(cursor)
    after = view(await collect(connector))
    assert apply(before, delta) == after
    # nothing changed since: the next delta is empty and keeps the cursor
    again = await connector.changes(delta.cursor)
    assert again.changes == ()
    assert again.cursor == delta.cursor


async def test_rename_disable_and_membership_become_the_current_state(
    make_sim, http, connect, clock
) -> None:
    sim = make_sim(users=30, groups=4, memberships=60, seed=9)
    ctl = http(sim)
    connector: KeycloakConnector = connect(sim)
    directory = await ok(await ctl.get("/_sim/directory"))
    uid = directory["users"][0]["id"]
    gid = directory["groups"][0]["id"]
    cursor = await connector.start_cursor()
    await ok(await ctl.patch(f"/_sim/users/{uid}", json={"username": "renamed", "enabled": False}))
    await ok(await ctl.put(f"/_sim/groups/{gid}/members/{uid}"))
    await ok(await ctl.delete(f"/_sim/groups/{gid}/members/{uid}"))
    await ok(await ctl.put(f"/_sim/groups/{gid}/members/{uid}"))
    delta = await connector.changes(cursor)
    users = [c.user for c in delta.changes if isinstance(c, UserUpserted)]
    assert [(u.login, u.active) for u in users] == [("renamed", False)]
    assert [c for c in delta.changes if isinstance(c, MemberAdded | MemberRemoved)] == [
        MemberAdded(gid, uid)
    ]


async def test_a_cleared_event_log_expires_the_cursor(make_sim, http, connect, clock) -> None:
    sim = make_sim(users=20, groups=2, memberships=20)
    ctl = http(sim)
    connector: KeycloakConnector = connect(sim)
    uid = (await ok(await ctl.get("/_sim/directory")))["users"][0]["id"]
    await ok(await ctl.patch(f"/_sim/users/{uid}", json={"firstName": "A"}))
    cursor = await connector.start_cursor()
    assert EventCursor.decode(cursor).ids, "the cursor is anchored on the newest event"
    await ok(await ctl.delete("/_sim/admin-events"))  # what Keycloak's expiry does
    clock.advance(1)
    await ok(await ctl.patch(f"/_sim/users/{uid}", json={"firstName": "B"}))
    with pytest.raises(CursorExpired):
        await connector.changes(cursor)


async def test_an_unreadable_cursor_counts_as_expired(make_sim, connect) -> None:
    connector: KeycloakConnector = connect(make_sim(users=5, groups=1, memberships=5))
    with pytest.raises(CursorExpired):
        await connector.changes("not json")


async def test_user_groups_and_unknown_users(make_sim, http, connect) -> None:
    sim = make_sim(users=40, groups=6, memberships=120, seed=3)
    ctl = http(sim)
    connector: KeycloakConnector = connect(sim)
    directory = await ok(await ctl.get("/_sim/directory"))
    by_user: dict[str, set[str]] = {}
    for gid, subjects in directory["memberships"].items():
        for s in subjects:
            by_user.setdefault(s, set()).add(gid)
    subject, wanted = max(by_user.items(), key=lambda kv: len(kv[1]))
    groups = await connector.user_groups(subject)
    assert {g.id for g in groups} == wanted
    assert all(g.name for g in groups)
    assert await connector.user_groups("no-such-user") == []
    assert await connector.fetch_user("no-such-user") is None
