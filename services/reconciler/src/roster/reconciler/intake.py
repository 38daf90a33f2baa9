"""Phase one of a run: store the IdP snapshot as it arrives, then ask for Confluence's state.

On `SnapshotCompleted` the stored snapshot is checked against the fetcher's counts (a
snapshot with holes would deprovision people) before `ReadConfluenceState` goes to the
writer. A delta or single-user run's events are folded into the directory state (`core.delta`)
into the run's own snapshot, and only the affected users and groups are read. Plans nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from roster.reconciler.adapters.directory_state import DirectoryStateStore
from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.adapters.runs import RunMarks
from roster.reconciler.adapters.snapshots import (
    Observation,
    RunMeta,
    SnapshotCounts,
    SnapshotStore,
)
from roster.reconciler.core.delta import (
    DELTA_EVENTS,
    DeltaEvent,
    DeltaScope,
    SnapshotDiff,
    apply_delta,
    delta_read_scope,
    scope_of,
    snapshot_diff,
)
from roster.reconciler.core.desired import build_desired
from roster.reconciler.core.reading import ReadScope, read_scope
from roster.reconciler.reporting import Publisher, RunReporter
from roster.shared import topics
from roster.shared.config import DirectorySettings, RosterConfig
from roster.shared.ids import command_id
from roster.shared.messages.commands import ReadConfluenceState
from roster.shared.messages.directory import (
    GroupChanged,
    GroupRemoved,
    MembershipAdded,
    MembershipRemoved,
    SnapshotCompleted,
    SnapshotFailed,
    SnapshotStarted,
    UserChanged,
    UserRemoved,
)
from roster.shared.messages.runs import RunProgress

log = structlog.get_logger()
READ_REQUEST_BYTES = 900_000
"""Room for group and user names in one `ReadConfluenceState` (a record is ≤ 1 MiB)."""


def directory_settings(config: RosterConfig, directory: str) -> DirectorySettings | None:
    return next((d for d in config.directories if d.id == directory), None)


def snapshot_problem(
    meta: RunMeta | None, config: RosterConfig, event: SnapshotCompleted
) -> str | None:
    """Why this snapshot must not be planned (before looking at what was stored), or None."""
    if meta is None:
        return "snapshot incomplete: the reconciler did not see its start"
    if meta.status == "failed":
        return "snapshot failed before it completed"
    if meta.mode not in ("full", "delta", "single"):
        return f"'{meta.mode}' snapshots are not planned by the reconciler"
    if directory_settings(config, event.directory) is None:
        return f"directory '{event.directory}' is not configured in the reconciler"
    return None


def count_problem(stored: SnapshotCounts, event: SnapshotCompleted) -> str | None:
    expected = SnapshotCounts(event.users, event.groups, event.memberships)
    if stored == expected:
        return None
    return (
        f"snapshot incomplete: stored {stored.users} users, {stored.groups} groups, "
        f"{stored.memberships} memberships; the fetcher sent {expected.users}, "
        f"{expected.groups}, {expected.memberships}"
    )


def delta_count_problem(events: list[DeltaEvent], event: SnapshotCompleted) -> str | None:
    users = sum(isinstance(e, UserChanged | UserRemoved) for e in events)
    groups = sum(isinstance(e, GroupChanged | GroupRemoved) for e in events)
    memberships = sum(isinstance(e, MembershipAdded | MembershipRemoved) for e in events)
    if (users, groups, memberships) == (event.users, event.groups, event.memberships):
        return None
    return (
        f"delta incomplete: stored {users} user, {groups} group and {memberships} membership "
        f"events; the fetcher sent {event.users}, {event.groups}, {event.memberships}"
    )


def single_subject(events: list[DeltaEvent]) -> str | None:
    for e in events:
        if isinstance(e, UserChanged):
            return e.user.subject
        if isinstance(e, UserRemoved):
            return e.subject
    return None


class SnapshotIntake:
    def __init__(
        self,
        *,
        config: RosterConfig,
        store: SnapshotStore,
        links: LinkStore,
        marks: RunMarks,
        reporter: RunReporter,
        publisher: Publisher,
        states: DirectoryStateStore | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.links = links
        self.marks = marks
        self.reporter = reporter
        self.publisher = publisher
        self.states = states or DirectoryStateStore(store.redis, store.keys, ttl_seconds=store.ttl)

    async def started(self, event: SnapshotStarted) -> None:
        await self.store.start(event)
        if event.mode != "full":
            await self.states.drop_events(event.run_id)  # an earlier attempt's events
        log.info("snapshot started", mode=event.mode, dry_run=event.dry_run)

    async def observed(self, events: Sequence[Observation | DeltaEvent]) -> None:
        observations = [e for e in events if not isinstance(e, DELTA_EVENTS)]
        deltas = [e for e in events if isinstance(e, DELTA_EVENTS)]
        if observations:
            await self.store.observe(observations)
        if deltas:
            await self.states.push_events(deltas)

    async def failed(self, event: SnapshotFailed) -> None:
        await self.store.fail(event.run_id)
        log.info("snapshot failed", error=event.error)

    async def completed(self, event: SnapshotCompleted) -> None:
        if (outcome := await self.marks.planned(event.run_id)) is not None:
            log.info("run already planned", outcome=outcome)
            return
        meta = await self.store.meta(event.run_id)
        problem = snapshot_problem(meta, self.config, event)
        if problem is not None or meta is None:
            await self.reporter.fail(event.run_id, event.directory, problem or "no meta")
            return
        if meta.mode != "full":
            scope = await self._apply_delta(meta, event)
            if isinstance(scope, str):
                await self.reporter.fail(event.run_id, event.directory, scope)
            else:
                await self._publish_read(event, delta_read_scope(scope))
            return
        problem = count_problem(await self.store.complete(event), event)
        if problem is not None:
            await self.reporter.fail(event.run_id, event.directory, problem)
            return
        if not meta.dry_run:
            await self.states.set_head(event.directory, event.run_id)
        await self._request_state(event)

    async def _base(self, directory: str, run_id: str) -> tuple[str, ...] | None:
        """Where the directory's current view is: the head run (a completed snapshot not
        failed or held in planning), else the stored directory state, else nowhere."""
        head = await self.states.head(directory)
        if head is not None and head != run_id:
            meta = await self.store.meta(head)
            outcome = await self.marks.planned(head)
            if meta is not None and meta.status == "completed" and outcome in (None, "planned"):
                return self.states.run_prefix(head)
        if await self.states.has_state(directory):
            return self.states.state_prefix(directory)
        return None

    async def _apply_delta(self, meta: RunMeta, event: SnapshotCompleted) -> DeltaScope | str:
        """Build the run's snapshot from the directory's view and its events; the scope, or
        why the run cannot be planned."""
        events = await self.states.events(event.run_id)
        if (problem := delta_count_problem(events, event)) is not None:
            return problem
        settings = directory_settings(self.config, event.directory)
        assert settings is not None  # checked by snapshot_problem
        base = await self._base(event.directory, event.run_id)
        if base is None or not await self.states.copy_into_run(base, event.run_id):
            return (
                f"no directory state for '{event.directory}' to apply a {meta.mode} sync to: "
                "run a full sync first"
            )
        before = await self.store.load_idp(event.run_id)
        single = single_subject(events) if meta.mode == "single" else None
        subjects = await self.links.subjects(event.directory)

        def compute() -> tuple[SnapshotDiff, DeltaScope]:
            applied = apply_delta(before, events, single=single)
            admins = self.config.confluence.administrator_groups
            scope = scope_of(applied, before, settings, subjects, watch_groups=admins)
            return snapshot_diff(before, applied), scope

        diff, scope = await asyncio.to_thread(compute)  # whole-state work: off the loop
        await self.states.write_diff(event.run_id, diff)
        await self.states.store_scope(event.run_id, scope)
        await self.store.complete(event)
        if not meta.dry_run:
            await self.states.set_head(event.directory, event.run_id)
        log.info("delta applied", events=len(events), subjects=len(scope.subjects),
                 usernames=len(scope.usernames), groups=len(scope.read_groups))  # fmt: skip
        return scope

    async def _request_state(self, event: SnapshotCompleted) -> None:
        settings = directory_settings(self.config, event.directory)
        assert settings is not None  # checked by snapshot_problem
        subjects = await self.links.subjects(event.directory)
        snapshot = await self.store.load_idp(event.run_id)
        admins = self.config.confluence.administrator_groups
        desired = build_desired(snapshot, settings, subjects, watch_groups=admins)
        scope = read_scope(desired, subjects.values(), budget=READ_REQUEST_BYTES)
        if scope.left_out:
            log.warning("confluence read request truncated", left_out=scope.left_out)
        await self._publish_read(event, scope)

    async def _publish_read(self, event: SnapshotCompleted, scope: ReadScope) -> None:
        wanted = {"groups": list(scope.groups), "usernames": list(scope.usernames)}
        request = ReadConfluenceState(
            run_id=event.run_id,
            directory=event.directory,
            command_id=command_id(event.run_id, "ReadConfluenceState", event.run_id, wanted),
            reason="read Confluence before planning",
            **wanted,
        )
        await self.publisher.publish(topics.CONFLUENCE_COMMANDS, request, key=request.key)
        progress = RunProgress(
            run_id=event.run_id, directory=event.directory, phase="reading-confluence"
        )
        await self.publisher.publish(topics.RUN_EVENTS, progress, key=event.run_id)
        log.info(
            "confluence state requested",
            users=event.users,
            groups=len(scope.groups),
            usernames=len(scope.usernames),
        )
