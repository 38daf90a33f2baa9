"""The safety net on a real Redis: an empty IdP snapshot after a good sync is held with its
plan stored, publishes nothing but `RunHeld`, never plans twice, executes once when
approved (even when the approval is delivered twice) and closes as rejected otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis.asyncio as redis
from reconciler_flow import Reconciler, answer, execute, snapshot_events
from reconciler_support import ISSUED, cf, idp

from roster.reconciler.adapters.safety import SafetyStore
from roster.reconciler.adapters.snapshots import RunMeta
from roster.reconciler.core.plan import Plan
from roster.reconciler.core.state import ActualState
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.messages.commands import DeactivateUser, DeleteUser, UpdateUser
from roster.shared.messages.decisions import RunApproved, RunRejected
from roster.shared.messages.runs import PlanSummary, RunCompleted, RunHeld, RunPlanned
from roster.shared.redisdb import Keys

USERS = [idp("ada"), idp("bob"), idp("carl"), idp("dora")]
GROUPS = {"Eng": ["s-ada", "s-bob", "s-carl"], "Ops": ["s-dora"]}


def config() -> RosterConfig:
    return RosterConfig(directories=[{"id": "kc", "kind": "ldap"}])


@pytest.fixture
def rec(redis_client: redis.Redis, keys: Keys) -> Reconciler:
    return Reconciler(redis_client, keys, config())


async def sync(
    rec: Reconciler, run_id: str, state: ActualState, users: list, groups: dict
) -> ActualState:
    await rec.directory_events(snapshot_events(run_id, users, groups))
    (request,) = rec.publisher.of(topics.CONFLUENCE_COMMANDS, run_id)
    await rec.state(answer(request, state))
    return execute(rec.publisher.of(topics.CONFLUENCE_COMMANDS, run_id)[1:], state)


async def held_run(rec: Reconciler) -> ActualState:
    """A good first sync, then the IdP returns nothing: run `r2` is held."""
    state = ActualState.of(users=[cf("admin")], groups=["confluence-users"])
    state = await sync(rec, "r1", state, USERS, GROUPS)
    assert len(await rec.links.subjects("kc")) == 4
    await sync(rec, "r2", state, [], {})
    return state


def outcomes(rec: Reconciler, run_id: str) -> list:
    """The run's events after planning (progress left out)."""
    kinds = RunHeld | RunPlanned | RunCompleted
    return [e for e in rec.publisher.of(topics.RUN_EVENTS, run_id) if isinstance(e, kinds)]


def commands_of(rec: Reconciler, run_id: str) -> list:
    return rec.publisher.of(topics.CONFLUENCE_COMMANDS, run_id)[1:]  # after the read request


async def test_empty_snapshot_is_held_with_its_plan(rec: Reconciler) -> None:
    state = await held_run(rec)
    assert commands_of(rec, "r2") == []
    events = outcomes(rec, "r2")
    assert [type(e) for e in events] == [RunHeld]
    (held,) = events
    assert "empty" in held.reason
    assert held.summary.deactivate_users == 4
    assert await rec.marks.planned("r2") == "held"
    plan = await rec.marks.load_plan("r2")
    assert plan is not None
    assert (plan["status"], plan["hold_reason"]) == ("held", held.reason)
    assert plan["snapshot"]["users"] == 0
    ada = next(u for u in plan["users"] if u["username"] == "ada")
    assert ada["outcome"] == "deactivated"
    assert [c["type"] for c in ada["changes"]] == ["DeactivateUser"]
    assert ada["reasons"]
    assert rec.metric("roster_reconciler_plans_total", directory="kc", outcome="held") == 1
    # a replayed Confluence state never plans the held run again
    (request,) = rec.publisher.of(topics.CONFLUENCE_COMMANDS, "r2")
    await rec.state(answer(request, state))
    assert [type(e) for e in outcomes(rec, "r2")] == [RunHeld]
    assert commands_of(rec, "r2") == []


async def test_approval_executes_once(rec: Reconciler, redis_client: redis.Redis) -> None:
    await held_run(rec)
    safety = SafetyStore(redis_client, rec.store.keys)
    assert await safety.last_good_users("kc") == 4
    approved = RunApproved(run_id="r2", directory="kc", by="alice")
    await rec.planner.approve(approved)
    await rec.planner.approve(approved)  # delivered twice
    commands = commands_of(rec, "r2")
    assert sorted(c.username for c in commands) == ["ada", "bob", "carl", "dora"]
    assert all(isinstance(c, DeactivateUser) for c in commands)
    planned = [e for e in outcomes(rec, "r2") if isinstance(e, RunPlanned)]
    assert len(planned) == 1
    assert (planned[0].commands, planned[0].summary.deactivate_users) == (4, 4)
    assert await rec.marks.planned("r2") == "planned"
    plan = await rec.marks.load_plan("r2")
    assert plan is not None
    assert (plan["status"], plan["decided_by"]) == ("approved", "alice")
    assert await safety.last_good_users("kc") == 0
    assert await safety.window_removals("kc", ISSUED, 60) == 0  # full runs: not in the window
    # a rejection after the approval changes nothing
    await rec.planner.reject(RunRejected(run_id="r2", directory="kc"))
    assert not [e for e in outcomes(rec, "r2") if isinstance(e, RunCompleted)]


async def test_rejection_closes_the_run(rec: Reconciler) -> None:
    await held_run(rec)
    await rec.planner.reject(RunRejected(run_id="r2", directory="kc", by="bob"))
    await rec.planner.approve(RunApproved(run_id="r2", directory="kc"))  # too late
    assert commands_of(rec, "r2") == []
    held, completed = outcomes(rec, "r2")
    assert isinstance(held, RunHeld)
    assert isinstance(completed, RunCompleted)
    assert (completed.status, completed.summary.deactivate_users) == ("rejected", 4)
    assert await rec.marks.planned("r2") == "rejected"


async def test_a_run_that_was_not_held_cannot_be_approved(rec: Reconciler) -> None:
    state = ActualState.of(users=[cf("admin")], groups=["confluence-users"])
    await sync(rec, "r1", state, USERS, GROUPS)
    before = len(rec.publisher.sent)
    await rec.planner.approve(RunApproved(run_id="r1", directory="kc"))
    await rec.planner.approve(RunApproved(run_id="unknown", directory="kc"))
    assert len(rec.publisher.sent) == before


async def test_removals_above_the_count_limit_are_held(
    redis_client: redis.Redis, keys: Keys
) -> None:
    limited = RosterConfig(
        directories=[{"id": "kc", "kind": "ldap", "safety": {"max_removals": 1}}]
    )
    rec = Reconciler(redis_client, keys, limited)
    state = ActualState.of(users=[cf("admin")], groups=["confluence-users"])
    state = await sync(rec, "r1", state, USERS, GROUPS)
    await sync(rec, "r2", state, USERS[:3], GROUPS)  # one removal: within the limit
    assert [type(c) for c in commands_of(rec, "r2")] == [DeactivateUser]
    await sync(rec, "r3", state, USERS[:1], GROUPS)  # bob, carl, dora: held
    assert commands_of(rec, "r3") == []
    (held,) = outcomes(rec, "r3")
    assert isinstance(held, RunHeld)
    assert "limit of 1" in held.reason
    assert not any(isinstance(c, DeleteUser | UpdateUser) for c in commands_of(rec, "r3"))


async def test_window_counts_removals_once_and_forgets_old_ones(
    redis_client: redis.Redis, keys: Keys
) -> None:
    safety = SafetyStore(redis_client, keys)
    old = [DeactivateUser(run_id="a", command_id=f"c{i}", username=f"u{i}") for i in range(3)]
    await safety.add_removals("kc", old, ISSUED - timedelta(minutes=90))
    now = [DeactivateUser(run_id="b", command_id=f"d{i}", username=f"v{i}") for i in range(2)]
    update = UpdateUser(run_id="b", command_id="e", username="w", display_name="W", email="w@x")
    await safety.add_removals("kc", [*now, update], ISSUED)
    await safety.add_removals("kc", now, ISSUED)  # a replay
    assert await safety.window_removals("kc", ISSUED, 60) == 2
    assert await safety.window_removals("kc", ISSUED, 60) == 2
    assert await safety.window_removals("other", ISSUED, 60) == 0


async def test_dry_run_stores_what_would_change_and_why_and_emits_nothing(
    rec: Reconciler,
) -> None:
    state = ActualState.of(users=[cf("admin"), cf("bob", display_name="Old")], groups=[])
    await rec.directory_events(snapshot_events("d1", USERS, GROUPS, dry_run=True))
    (request,) = rec.publisher.of(topics.CONFLUENCE_COMMANDS, "d1")
    await rec.state(answer(request, state))
    assert commands_of(rec, "d1") == []
    (planned,) = outcomes(rec, "d1")
    assert isinstance(planned, RunPlanned)
    assert (planned.dry_run, planned.commands) == (True, 0)
    assert planned.summary.writes > 0
    plan = await rec.marks.load_plan("d1")
    assert plan is not None
    assert (plan["status"], plan["hold_reason"]) == ("dry-run", None)
    assert len(plan["commands"]) == planned.summary.writes
    users = {u["username"]: u for u in plan["users"]}
    assert users["ada"]["outcome"] == "created"
    assert users["bob"]["outcome"] == "updated"
    for user in users.values():
        assert user["reasons"], user
        assert user["changes"], user
        assert all(c["reason"] for c in user["changes"]), user
    assert {c["group"] for c in users["ada"]["changes"] if "group" in c} >= {"eng"}
    assert await rec.links.subjects("kc") == {}  # a dry run records no link


def removal_plan(run_id: str, names: list[str]) -> Plan:
    commands = tuple(
        DeactivateUser(run_id=run_id, command_id=f"{run_id}-{n}", username=n, directory="kc")
        for n in names
    )
    return Plan(run_id, "kc", commands, PlanSummary(deactivate_users=len(names)), (), ())


async def test_delta_runs_are_held_above_the_rolling_window(
    redis_client: redis.Redis, keys: Keys
) -> None:
    limited = RosterConfig(
        directories=[{"id": "kc", "kind": "ldap", "safety": {"max_window_removals": 3}}]
    )
    rec = Reconciler(redis_client, keys, limited)

    def meta(run_id: str) -> RunMeta:
        return RunMeta(run_id, "kc", "delta", False, "webhook", "completed")

    await rec.planner._emit(removal_plan("x1", ["a", "b"]), meta("x1"))
    assert [c.username for c in rec.publisher.of(topics.CONFLUENCE_COMMANDS, "x1")] == ["a", "b"]
    await rec.planner._emit(removal_plan("x2", ["c", "d"]), meta("x2"))  # 4 > 3 in the hour
    assert rec.publisher.of(topics.CONFLUENCE_COMMANDS, "x2") == []
    (held,) = outcomes(rec, "x2")
    assert isinstance(held, RunHeld)
    assert "4 in the last 60 minutes" in held.reason
    plan = await rec.marks.load_plan("x2")
    assert plan is not None
    assert (plan["mode"], plan["status"]) == ("delta", "held")
    await rec.planner.approve(RunApproved(run_id="x2", directory="kc"))
    assert [c.username for c in rec.publisher.of(topics.CONFLUENCE_COMMANDS, "x2")] == ["c", "d"]
    assert await SafetyStore(redis_client, keys).window_removals("kc", ISSUED, 60) == 4
    assert await SafetyStore(redis_client, keys).last_good_users("kc") is None  # deltas only
