"""Delta and single-user runs, and the cursor bookkeeping of incremental full runs.

Full: `start_cursor()` before, stored once the snapshot completed. Delta: `changes(cursor)`
between `SnapshotStarted(mode="delta")` and `SnapshotCompleted`, then the new cursor; no cursor
or `CursorExpired` runs a full snapshot instead (reason in a `RunProgress` phase). Single: one
user and its complete direct group set. Dry runs never move the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from roster.fetcher.connectors.base import Connector, IncrementalConnector, is_incremental
from roster.fetcher.core.changes import (
    Change,
    CursorExpired,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)
from roster.fetcher.snapshots import Publisher, SnapshotRunner
from roster.shared import topics
from roster.shared.errors import RosterError
from roster.shared.messages.base import Message
from roster.shared.messages.directory import (
    DirectoryEvent,
    GroupChanged,
    GroupRemoved,
    MembershipAdded,
    MembershipRemoved,
    SnapshotCompleted,
    SnapshotStarted,
    UserChanged,
    UserRemoved,
)
from roster.shared.messages.runs import RunFailed, RunProgress
from roster.shared.messages.sync import SyncRequested

log = structlog.get_logger()


def delta_event(request: SyncRequested, change: Change) -> DirectoryEvent:
    """One connector change as the directory event the reconciler consumes."""
    common = {"run_id": request.run_id, "directory": request.directory}
    match change:
        case UserUpserted(user=user):
            return UserChanged(**common, user=user)
        case UserDeleted(subject=subject):
            return UserRemoved(**common, subject=subject)
        case GroupUpserted(group=group):
            return GroupChanged(**common, group=group)
        case GroupDeleted(group_id=group_id):
            return GroupRemoved(**common, group_id=group_id)
        case MemberAdded(group_id=group_id, subject=subject):
            return MembershipAdded(**common, group_id=group_id, subject=subject)
        case MemberRemoved(group_id=group_id, subject=subject):
            return MembershipRemoved(**common, group_id=group_id, subject=subject)
    raise TypeError(f"unknown change {change!r}")


def bracketed(request: SyncRequested, events: Sequence[DirectoryEvent]) -> list[DirectoryEvent]:
    """`SnapshotStarted`, the events, `SnapshotCompleted` with the count of each kind."""
    started = SnapshotStarted(
        run_id=request.run_id,
        directory=request.directory,
        mode=request.mode,
        dry_run=request.dry_run,
        trigger=request.trigger,
    )
    users = sum(isinstance(e, UserChanged | UserRemoved) for e in events)
    groups = sum(isinstance(e, GroupChanged | GroupRemoved) for e in events)
    memberships = sum(isinstance(e, MembershipAdded | MembershipRemoved) for e in events)
    completed = SnapshotCompleted(
        run_id=request.run_id,
        directory=request.directory,
        users=users,
        groups=groups,
        memberships=memberships,
    )
    return [started, *events, completed]


class Cursors(Protocol):
    """`cursors.CursorStore`; tests may pass a dict-backed fake."""

    async def get(self, directory: str) -> str | None: ...

    async def put(self, directory: str, cursor: str) -> None: ...


@dataclass
class DeltaRunner:
    publisher: Publisher
    snapshots: SnapshotRunner
    cursors: Cursors
    batch_size: int = 500

    async def full(self, request: SyncRequested, connector: Connector) -> None:
        """A full snapshot; for an incremental connector its start cursor is stored after."""
        cursor: str | None = None
        if is_incremental(connector) and not request.dry_run:
            incremental: IncrementalConnector = connector  # type: ignore[assignment]
            try:
                cursor = await incremental.start_cursor()
            except RosterError as exc:  # the snapshot still works; the next delta runs full
                log.warning("no start cursor for this snapshot", error=str(exc))
        outcome = await self.snapshots.run(request, connector)
        if outcome.error is None and cursor is not None:
            await self.cursors.put(request.directory, cursor)

    async def delta(self, request: SyncRequested, connector: Connector) -> None:
        if not is_incremental(connector):
            await self._fail(request, f"kind {connector.kind} has no incremental sync yet")
            return
        incremental: IncrementalConnector = connector  # type: ignore[assignment]
        cursor = await self.cursors.get(request.directory)
        if cursor is None:
            await self._instead(request, connector, "no cursor stored (no full sync yet)")
            return
        try:
            changes = await incremental.changes(cursor)
        except CursorExpired as exc:
            await self._instead(request, connector, f"cursor expired: {exc}")
            return
        except RosterError as exc:
            await self._fail(request, f"reading changes failed: {exc}")
            return
        events = [delta_event(request, change) for change in changes.changes]
        await self._publish(request, bracketed(request, events))
        if not request.dry_run:
            await self.cursors.put(request.directory, changes.cursor)
        log.info("delta published", changes=len(events), dry_run=request.dry_run)

    async def single(self, request: SyncRequested, connector: Connector) -> None:
        """One user with its complete direct group set (sync at login)."""
        subject = request.subject
        if not subject:
            await self._fail(request, "single-user sync without a subject")
            return
        if not is_incremental(connector):
            await self._fail(request, f"kind {connector.kind} cannot read a user's groups yet")
            return
        incremental: IncrementalConnector = connector  # type: ignore[assignment]
        common = {"run_id": request.run_id, "directory": request.directory}
        events: list[DirectoryEvent] = []
        try:
            user = await connector.fetch_user(subject)
            groups = [] if user is None else await incremental.user_groups(subject)
        except RosterError as exc:
            await self._fail(request, f"reading user '{subject}' failed: {exc}")
            return
        if user is None:
            events.append(UserRemoved(**common, subject=subject))
        else:
            events.append(UserChanged(**common, user=user))
            for group in groups:
                events.append(GroupChanged(**common, group=group))
                events.append(MembershipAdded(**common, group_id=group.id, subject=subject))
        await self._publish(request, bracketed(request, events))
        log.info("single user published", subject=subject, found=user is not None,
                 groups=len(groups))  # fmt: skip

    async def _instead(self, request: SyncRequested, connector: Connector, reason: str) -> None:
        log.info("full sync instead of delta", reason=reason)
        note = RunProgress(
            run_id=request.run_id,
            directory=request.directory,
            phase=f"full sync instead of delta: {reason}",
        )
        await self.publisher.publish(topics.RUN_EVENTS, note, key=request.run_id)
        await self.full(request.model_copy(update={"mode": "full"}), connector)

    async def _publish(self, request: SyncRequested, events: Sequence[Message]) -> None:
        key = request.directory
        for start in range(0, len(events), self.batch_size):
            chunk = events[start : start + self.batch_size]
            await self.publisher.publish_many(topics.DIRECTORY_EVENTS, [(key, m) for m in chunk])

    async def _fail(self, request: SyncRequested, reason: str) -> None:
        error = f"directory '{request.directory}': {reason}"
        log.warning("run failed", error=error)
        failed = RunFailed(run_id=request.run_id, directory=request.directory, error=error)
        await self.publisher.publish(topics.RUN_EVENTS, failed, key=request.run_id)
