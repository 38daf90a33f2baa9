"""Intake and planner on a real Redis with a recording publisher and a fake writer.

Two syncs in a row prove the pipeline converges through the stored snapshots and the link
table: the second run plans zero writes.
"""

from __future__ import annotations

import pytest
import redis.asyncio as redis
from reconciler_flow import Reconciler, answer, execute, snapshot_events
from reconciler_support import cf, idp

from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.core.state import ActualState, NewLink, Owner
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.errors import TransientError
from roster.shared.messages.commands import ReadConfluenceState
from roster.shared.messages.runs import RunFailed, RunPlanned, RunProgress
from roster.shared.messages.state import ConfluenceStateCompleted
from roster.shared.redisdb import Keys

USERS = [idp("ada"), idp("Bob", display_name="Bob B"), idp("carl", email=None), idp("dora")]
GROUPS = {"Eng": ["s-ada", "s-bob", "s-carl"], "Ops": ["s-dora"]}


def config() -> RosterConfig:
    return RosterConfig(
        directories=[{"id": "kc", "kind": "ldap", "default_groups": ["staff"]}],
    )


def confluence() -> ActualState:
    return ActualState.of(
        users=[cf("admin"), cf("bob", display_name="Bob"), cf("old")],
        groups=["confluence-users", "ops"],
        members={"ops": ["old", "admin"]},
    )


async def sync(
    rec: Reconciler, run_id: str, state: ActualState, *, dry_run: bool = False
) -> ActualState:
    """One full sync: snapshot, read, plan; returns Confluence after the writer ran."""
    await rec.directory_events(snapshot_events(run_id, USERS, GROUPS, dry_run=dry_run))
    (request,) = rec.publisher.of(topics.CONFLUENCE_COMMANDS, run_id)
    await rec.state(answer(request, state))
    commands = rec.publisher.of(topics.CONFLUENCE_COMMANDS, run_id)[1:]
    return execute(commands, state)


@pytest.fixture
def rec(redis_client: redis.Redis, keys: Keys) -> Reconciler:
    return Reconciler(redis_client, keys, config())


async def test_two_syncs_converge_through_redis(rec: Reconciler) -> None:
    await rec.links.record("kc", [NewLink("s-old", "old")])
    after = await sync(rec, "r1", confluence())
    request, *commands = rec.publisher.of(topics.CONFLUENCE_COMMANDS, "r1")
    assert isinstance(request, ReadConfluenceState)
    assert request.groups == ["confluence-administrators", "eng", "ops", "staff"]
    assert request.usernames == ["old", "ada", "bob", "dora"]
    assert [(c.type, c.target) for c in commands] == [
        ("CreateGroup", "eng"),
        ("CreateGroup", "staff"),
        ("CreateUser", "ada"),
        ("AddMembership", "ada -> eng"),
        ("AddMembership", "ada -> staff"),
        ("UpdateUser", "bob"),
        ("AddMembership", "bob -> eng"),
        ("AddMembership", "bob -> staff"),
        ("CreateUser", "dora"),
        ("AddMembership", "dora -> ops"),
        ("AddMembership", "dora -> staff"),
        ("DeactivateUser", "old"),
    ]
    keys = rec.publisher.keys(topics.CONFLUENCE_COMMANDS)
    assert keys == ["r1", "eng", "staff", *[c.key for c in commands[2:]]]
    progress, planned = rec.publisher.of(topics.RUN_EVENTS, "r1")
    assert isinstance(progress, RunProgress)
    assert progress.phase == "reading-confluence"
    assert isinstance(planned, RunPlanned)
    assert (planned.commands, planned.dry_run) == (12, False)
    assert (planned.summary.create_users, planned.summary.conflicts) == (2, 1)
    assert await rec.links.subjects("kc") == {
        "s-ada": "ada",
        "s-bob": "bob",
        "s-dora": "dora",
        "s-old": "old",
    }
    assert await rec.marks.planned("r1") == "planned"
    assert rec.metric("roster_reconciler_plans_total", directory="kc", outcome="planned") == 1
    assert rec.metric("roster_reconciler_commands_total", operation="AddMembership") == 6

    # the second sync, with no IdP change, makes zero writes
    again = await sync(rec, "r2", after)
    assert again == after
    assert len(rec.publisher.of(topics.CONFLUENCE_COMMANDS, "r2")) == 1  # only the read
    (_, planned2) = rec.publisher.of(topics.RUN_EVENTS, "r2")
    assert (planned2.commands, planned2.summary.writes, planned2.summary.unchanged_users) == (
        0,
        0,
        4,
    )


async def test_replays_after_planning_publish_nothing(rec: Reconciler) -> None:
    await sync(rec, "r1", confluence())
    before = len(rec.publisher.sent)
    await rec.directory_events(snapshot_events("r1", USERS, GROUPS)[-1:])
    done = ConfluenceStateCompleted(run_id="r1", pages=2, users=3, groups=2)
    await rec.state([done])
    assert len(rec.publisher.sent) == before


async def test_a_dry_run_publishes_no_command_and_records_no_link(rec: Reconciler) -> None:
    after = await sync(rec, "r1", confluence(), dry_run=True)
    assert after == confluence()
    assert len(rec.publisher.of(topics.CONFLUENCE_COMMANDS)) == 1
    (_, planned) = rec.publisher.of(topics.RUN_EVENTS)
    assert (planned.commands, planned.dry_run, planned.summary.create_users) == (0, True, 2)
    assert await rec.links.subjects("kc") == {}
    document = await rec.marks.load_plan("r1")
    assert document is not None
    assert len(document["commands"]) == 11
    assert await rec.marks.planned("r1") == "dry-run"
    assert rec.metric("roster_reconciler_plans_total", directory="kc", outcome="dry-run") == 1
    assert rec.metric("roster_reconciler_commands_total", operation="CreateUser") is None


async def test_a_replanned_run_reuses_its_command_ids(rec: Reconciler) -> None:
    await rec.directory_events(snapshot_events("r1", USERS, GROUPS))
    (request,) = rec.publisher.of(topics.CONFLUENCE_COMMANDS, "r1")
    await rec.state(answer(request, confluence()))
    first = [c.command_id for c in rec.publisher.of(topics.CONFLUENCE_COMMANDS, "r1")[1:]]
    await rec.marks.redis.delete(rec.marks.keys("rec", "planned", "r1"))  # crashed before
    await rec.state(answer(request, confluence()))
    second = [c.command_id for c in rec.publisher.of(topics.CONFLUENCE_COMMANDS, "r1")[1:]]
    assert second == first + first


def failures(rec: Reconciler) -> list[str]:
    return [m.error for m in rec.publisher.of(topics.RUN_EVENTS) if isinstance(m, RunFailed)]


async def test_an_incomplete_snapshot_is_never_planned(rec: Reconciler) -> None:
    events = snapshot_events("r1", USERS, GROUPS)
    await rec.directory_events([e for e in events if getattr(e, "user", None) != USERS[1]])
    await rec.directory_events(snapshot_events("r2", USERS, GROUPS)[1:])  # start not seen
    await rec.directory_events(snapshot_events("r3", USERS, GROUPS, directory="nope"))
    assert failures(rec) == [
        "snapshot incomplete: stored 3 users, 2 groups, 4 memberships; the fetcher sent 4, 2, 4",
        "snapshot incomplete: the reconciler did not see its start",
        "directory 'nope' is not configured in the reconciler",
    ]
    assert rec.publisher.of(topics.CONFLUENCE_COMMANDS) == []
    assert await rec.marks.planned("r1") == "failed"
    assert rec.metric("roster_reconciler_plans_total", directory="kc", outcome="failed") == 2


async def test_a_failed_or_partial_confluence_read_is_never_planned(rec: Reconciler) -> None:
    for run_id in ("r1", "r2"):
        await rec.directory_events(snapshot_events(run_id, USERS, GROUPS))
    error = ConfluenceStateCompleted(run_id="r1", pages=0, users=0, groups=0, error="HTTP 401")
    (request,) = rec.publisher.of(topics.CONFLUENCE_COMMANDS, "r2")
    *pages, done = answer(request, confluence())
    await rec.state([error, pages[0], done])
    await rec.state([ConfluenceStateCompleted(run_id="r9", pages=0, users=0, groups=0)])
    assert failures(rec) == [
        "reading Confluence failed: HTTP 401",
        "Confluence state incomplete: 1 of 2 pages stored",
        "no stored IdP snapshot for this run (expired, or never seen)",
    ]
    assert len(rec.publisher.of(topics.CONFLUENCE_COMMANDS)) == 2  # the two reads


class RacingLinks(LinkStore):
    """Another directory links "ada" just before this planner records its links."""

    async def record(self, directory: str, links: object) -> list[NewLink]:  # type: ignore[override]
        if not await self.owners():
            await super().record("okta", [NewLink("o-ada", "ada")])
        return await super().record(directory, links)  # type: ignore[arg-type]


async def test_a_link_race_replans_with_the_conflict(redis_client: redis.Redis, keys: Keys) -> None:
    rec = Reconciler(redis_client, keys, config())
    rec.planner.links = RacingLinks(redis_client, keys)
    await rec.directory_events(snapshot_events("r1", USERS, GROUPS))
    (request,) = rec.publisher.of(topics.CONFLUENCE_COMMANDS, "r1")
    with pytest.raises(TransientError, match="1 usernames were linked meanwhile: ada"):
        await rec.state(answer(request, confluence()))
    await rec.state(answer(request, confluence()))  # what the retrier does
    targets = [c.target for c in rec.publisher.of(topics.CONFLUENCE_COMMANDS, "r1")[1:]]
    assert "ada" not in targets
    assert "bob" in targets
    assert (await rec.links.owners())["ada"] == Owner("okta", "o-ada")
    (_, planned) = rec.publisher.of(topics.RUN_EVENTS, "r1")
    assert planned.summary.conflicts == 2
