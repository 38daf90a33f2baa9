"""Delta and single-user runs through intake and planner on a real Redis (fake writer).

A full sync makes the directory state; a delta run's Confluence read and commands cover only
the affected users and groups, and its result becomes the state; a single-user run treats
its groups as the user's complete set; no state yet fails the run with a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis.asyncio as redis
from reconciler_flow import Reconciler, answer, execute, snapshot_events
from reconciler_support import idp

from roster.reconciler.adapters.directory_state import DirectoryStateStore
from roster.reconciler.core.state import ActualState
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.messages.commands import ReadConfluenceState
from roster.shared.messages.directory import (
    DirectoryEvent,
    GroupChanged,
    IdpGroup,
    MembershipAdded,
    MembershipRemoved,
    SnapshotCompleted,
    SnapshotStarted,
    UserChanged,
    UserRemoved,
)
from roster.shared.messages.runs import RunFailed, RunPlanned
from roster.shared.redisdb import Keys

USERS = [idp(f"user{i}") for i in range(12)]
GROUPS = {"Eng": [f"s-user{i}" for i in range(6)], "Ops": [f"s-user{i}" for i in range(6, 12)]}


@pytest.fixture
def rec(redis_client: redis.Redis, keys: Keys) -> Reconciler:
    config = RosterConfig(directories=[{"id": "kc", "kind": "ldap"}])
    return Reconciler(redis_client, keys, config)


def delta(
    run_id: str, events: Sequence[DirectoryEvent], mode: str = "delta"
) -> list[DirectoryEvent]:
    users = sum(isinstance(e, UserChanged | UserRemoved) for e in events)
    groups = sum(isinstance(e, GroupChanged) for e in events)
    members = sum(isinstance(e, MembershipAdded | MembershipRemoved) for e in events)
    return [
        SnapshotStarted(run_id=run_id, directory="kc", mode=mode),  # type: ignore[arg-type]
        *events,
        SnapshotCompleted(
            run_id=run_id, directory="kc", users=users, groups=groups, memberships=members
        ),  # fmt: skip
    ]


async def feed(rec: Reconciler, events: Sequence[DirectoryEvent]) -> None:
    for event in events:
        if isinstance(event, SnapshotStarted):
            await rec.intake.started(event)
        elif isinstance(event, SnapshotCompleted):
            await rec.intake.completed(event)
        else:
            await rec.intake.observed([event])  # type: ignore[list-item]


async def run(
    rec: Reconciler, run_id: str, state: ActualState
) -> tuple[ReadConfluenceState, list, ActualState]:
    request, *_ = rec.publisher.of(topics.CONFLUENCE_COMMANDS, run_id)
    await rec.state(answer(request, state))
    commands = rec.publisher.of(topics.CONFLUENCE_COMMANDS, run_id)[1:]
    return request, commands, execute(commands, state)


def ev(cls: type, **fields: object) -> DirectoryEvent:
    return cls(directory="kc", **fields)  # type: ignore[no-any-return]


async def test_delta_reads_and_writes_only_what_changed(
    rec: Reconciler, redis_client, keys
) -> None:
    await rec.directory_events(snapshot_events("full", USERS, GROUPS))
    _, commands, state = await run(rec, "full", ActualState.of())
    assert len(commands) == 2 + 12 + 12  # groups, users, memberships
    states = DirectoryStateStore(redis_client, keys)
    assert await states.has_state("kc")

    renamed = idp("user1", display_name="Renamed One")
    events = [
        ev(UserChanged, run_id="d1", user=renamed),
        ev(UserChanged, run_id="d1", user=idp("user2", active=False)),
        ev(MembershipRemoved, run_id="d1", group_id="g-Eng", subject="s-user3"),
        ev(MembershipAdded, run_id="d1", group_id="g-Ops", subject="s-user3"),
    ]
    await feed(rec, delta("d1", events))
    request, commands, state = await run(rec, "d1", state)
    assert sorted(request.usernames) == ["user1", "user2", "user3"]
    # the administrators group is always read: the plan must see who is protected
    assert sorted(request.groups) == ["confluence-administrators", "eng", "ops"]
    assert sorted((c.type, c.target) for c in commands) == [
        ("AddMembership", "user3 -> ops"),
        ("DeactivateUser", "user2"),
        ("RemoveMembership", "user3 -> eng"),
        ("UpdateUser", "user1"),
    ]
    (planned,) = rec.publisher.of(topics.RUN_EVENTS, "d1")[-1:]
    assert isinstance(planned, RunPlanned)
    assert planned.commands == 4

    # the delta's result is the directory state now: a full sync after it plans nothing
    users = [renamed if u.subject == "s-user1" else u for u in USERS]
    users = [idp("user2", active=False) if u.subject == "s-user2" else u for u in users]
    groups = {
        "Eng": [s for s in GROUPS["Eng"] if s != "s-user3"],
        "Ops": [*GROUPS["Ops"], "s-user3"],
    }
    stored = await rec.store.load_idp("d1")
    assert {u.subject: u for u in stored.users} == {u.subject: u for u in users}
    assert await states.head("kc") == "d1"
    await rec.directory_events(snapshot_events("full2", users, groups))
    _, commands, _ = await run(rec, "full2", state)
    assert commands == []


async def test_single_user_sync_replaces_its_groups(rec: Reconciler) -> None:
    await rec.directory_events(snapshot_events("full", USERS, GROUPS))
    _, _, state = await run(rec, "full", ActualState.of())
    new = idp("newbie")
    events = [
        ev(UserChanged, run_id="s1", user=new),
        ev(GroupChanged, run_id="s1", group=IdpGroup(id="g-Ops", name="Ops")),
        ev(MembershipAdded, run_id="s1", group_id="g-Ops", subject="s-newbie"),
    ]
    await feed(rec, delta("s1", events, mode="single"))
    _, commands, state = await run(rec, "s1", state)
    assert [(c.type, c.target) for c in commands] == [
        ("CreateUser", "newbie"),
        ("AddMembership", "newbie -> ops"),
    ]
    # user0 logs in: the IdP now has it in Ops only, so it leaves Eng
    events = [
        ev(UserChanged, run_id="s2", user=USERS[0]),
        ev(GroupChanged, run_id="s2", group=IdpGroup(id="g-Ops", name="Ops")),
        ev(MembershipAdded, run_id="s2", group_id="g-Ops", subject="s-user0"),
    ]
    await feed(rec, delta("s2", events, mode="single"))
    _, commands, _ = await run(rec, "s2", state)
    assert sorted((c.type, c.target) for c in commands) == [
        ("AddMembership", "user0 -> ops"),
        ("RemoveMembership", "user0 -> eng"),
    ]


async def test_without_a_full_sync_a_delta_fails_clearly(rec: Reconciler) -> None:
    await feed(rec, delta("d0", [ev(UserChanged, run_id="d0", user=USERS[0])]))
    (failed,) = rec.publisher.of(topics.RUN_EVENTS, "d0")
    assert isinstance(failed, RunFailed)
    assert "run a full sync first" in failed.error
    assert rec.publisher.of(topics.CONFLUENCE_COMMANDS, "d0") == []


async def test_a_delta_with_missing_events_is_not_planned(rec: Reconciler) -> None:
    await rec.directory_events(snapshot_events("full", USERS, GROUPS))
    await run(rec, "full", ActualState.of())
    events = delta("d2", [ev(UserChanged, run_id="d2", user=USERS[0])])
    await feed(rec, [events[0], events[-1]])  # the UserChanged got lost
    (failed,) = rec.publisher.of(topics.RUN_EVENTS, "d2")
    assert isinstance(failed, RunFailed)
    assert failed.error.startswith("delta incomplete: stored 0 user")


async def test_a_delta_after_an_unplanned_delta_builds_on_it(rec: Reconciler) -> None:
    """Two deltas complete before the first is planned: the second includes the first."""
    await rec.directory_events(snapshot_events("full", USERS, GROUPS))
    _, _, state = await run(rec, "full", ActualState.of())
    await feed(rec, delta("a", [ev(UserChanged, run_id="a", user=idp("user4", display_name="A"))]))
    await feed(rec, delta("b", [ev(UserChanged, run_id="b", user=idp("user5", display_name="B"))]))
    _, first, state = await run(rec, "a", state)
    _, second, state = await run(rec, "b", state)
    assert [(c.type, c.target) for c in first + second] == [
        ("UpdateUser", "user4"),
        ("UpdateUser", "user5"),
    ]
    stored = {u.subject: u.display_name for u in (await rec.store.load_idp("b")).users}
    assert (stored["s-user4"], stored["s-user5"]) == ("A", "B")
