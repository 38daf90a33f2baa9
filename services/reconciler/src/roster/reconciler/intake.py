"""Phase one of a run: store the IdP snapshot as it arrives, then ask for Confluence's state.

On `SnapshotCompleted` the stored snapshot is checked against the fetcher's counts (a
snapshot with holes would deprovision people) before `ReadConfluenceState` goes to the
writer. Plans nothing and publishes no write command.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.adapters.runs import RunMarks
from roster.reconciler.adapters.snapshots import (
    Observation,
    RunMeta,
    SnapshotCounts,
    SnapshotStore,
)
from roster.reconciler.core.desired import build_desired
from roster.reconciler.core.reading import read_scope
from roster.reconciler.reporting import Publisher, RunReporter
from roster.shared import topics
from roster.shared.config import DirectorySettings, RosterConfig
from roster.shared.ids import command_id
from roster.shared.messages.commands import ReadConfluenceState
from roster.shared.messages.directory import SnapshotCompleted, SnapshotFailed, SnapshotStarted
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
    if meta.mode != "full":
        return f"'{meta.mode}' snapshots are not planned by the reconciler yet"
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
    ) -> None:
        self.config = config
        self.store = store
        self.links = links
        self.marks = marks
        self.reporter = reporter
        self.publisher = publisher

    async def started(self, event: SnapshotStarted) -> None:
        await self.store.start(event)
        log.info("snapshot started", mode=event.mode, dry_run=event.dry_run)

    async def observed(self, events: Sequence[Observation]) -> None:
        await self.store.observe(events)

    async def failed(self, event: SnapshotFailed) -> None:
        await self.store.fail(event.run_id)
        log.info("snapshot failed", error=event.error)

    async def completed(self, event: SnapshotCompleted) -> None:
        if (outcome := await self.marks.planned(event.run_id)) is not None:
            log.info("run already planned", outcome=outcome)
            return
        meta = await self.store.meta(event.run_id)
        problem = snapshot_problem(meta, self.config, event)
        if problem is None:
            problem = count_problem(await self.store.complete(event), event)
        if problem is not None:
            await self.reporter.fail(event.run_id, event.directory, problem)
            return
        await self._request_state(event)

    async def _request_state(self, event: SnapshotCompleted) -> None:
        settings = directory_settings(self.config, event.directory)
        assert settings is not None  # checked by snapshot_problem
        subjects = await self.links.subjects(event.directory)
        snapshot = await self.store.load_idp(event.run_id)
        desired = build_desired(snapshot, settings, subjects)
        scope = read_scope(desired, subjects.values(), budget=READ_REQUEST_BYTES)
        if scope.left_out:
            log.warning("confluence read request truncated", left_out=scope.left_out)
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
