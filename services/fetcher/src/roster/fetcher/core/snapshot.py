"""Turns a connector's record stream into the directory events of one full snapshot.

Pure: no I/O, no clock. The fetcher feeds it users and member pages in the order a connector
yields them and publishes what it returns. Chunking member lists to `fetcher.member_chunk`
and the counts in `SnapshotCompleted` are decided here, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from roster.shared.messages.directory import (
    DirectoryEvent,
    GroupObserved,
    IdpGroup,
    IdpUser,
    SnapshotCompleted,
    SnapshotFailed,
    SnapshotStarted,
    UserObserved,
)
from roster.shared.messages.sync import SyncRequested


@dataclass(frozen=True, slots=True)
class GroupMembers:
    """One page of a group's direct members (subjects), as a connector reads it.

    A connector yields a group's pages one after the other, the last with `last=True`; a
    group without members is one empty page with `last=True`.
    """

    group: IdpGroup
    members: tuple[str, ...]
    last: bool = True


SnapshotItem = IdpUser | GroupMembers


class SnapshotOrderError(ValueError):
    """The record stream broke its contract (a connector bug, never an IdP condition)."""


@dataclass
class SnapshotTally:
    users: int = 0
    groups: int = 0
    memberships: int = 0
    chunks: int = 0


@dataclass
class _OpenGroup:
    group: IdpGroup
    seen: set[str] = field(default_factory=set)
    pending: list[str] = field(default_factory=list)
    chunk: int = 0


class SnapshotAssembler:
    """Events of one full snapshot: `started()`, `feed(item)` per record, then `completed()`."""

    def __init__(self, request: SyncRequested, *, member_chunk: int) -> None:
        if member_chunk < 1:
            raise ValueError("member_chunk must be at least 1")
        self.request = request
        self.member_chunk = member_chunk
        self.tally = SnapshotTally()
        self._open: _OpenGroup | None = None
        self._closed: set[str] = set()

    def started(self) -> SnapshotStarted:
        r = self.request
        return SnapshotStarted(
            run_id=r.run_id,
            directory=r.directory,
            mode=r.mode,
            dry_run=r.dry_run,
            trigger=r.trigger,
        )

    def feed(self, item: SnapshotItem) -> list[DirectoryEvent]:
        if isinstance(item, IdpUser):
            self.tally.users += 1
            return [
                UserObserved(
                    run_id=self.request.run_id, directory=self.request.directory, user=item
                )
            ]
        return self._members(item)

    def completed(self) -> SnapshotCompleted:
        if self._open is not None:
            raise SnapshotOrderError(f"group {self._open.group.id} has no last member page")
        t = self.tally
        return SnapshotCompleted(
            run_id=self.request.run_id,
            directory=self.request.directory,
            users=t.users,
            groups=t.groups,
            memberships=t.memberships,
            chunks=t.chunks,
        )

    def failed(self, error: str) -> SnapshotFailed:
        return SnapshotFailed(
            run_id=self.request.run_id, directory=self.request.directory, error=error
        )

    def _members(self, page: GroupMembers) -> list[DirectoryEvent]:
        gid = page.group.id
        current = self._open
        if current is None:
            if gid in self._closed:
                raise SnapshotOrderError(f"group {gid} appeared twice in one snapshot")
            current = self._open = _OpenGroup(page.group)
            self.tally.groups += 1
        elif current.group.id != gid:
            raise SnapshotOrderError(
                f"members of group {gid} arrived before group {current.group.id} was finished"
            )
        for subject in page.members:
            if subject not in current.seen:  # offset paging can repeat a member
                current.seen.add(subject)
                current.pending.append(subject)
        events: list[DirectoryEvent] = []
        while len(current.pending) > self.member_chunk:
            events.append(self._chunk(current, current.pending[: self.member_chunk], last=False))
            del current.pending[: self.member_chunk]
        if page.last:
            events.append(self._chunk(current, current.pending, last=True))
            self._closed.add(gid)
            self._open = None
        return events

    def _chunk(self, group: _OpenGroup, members: list[str], *, last: bool) -> GroupObserved:
        event = GroupObserved(
            run_id=self.request.run_id,
            directory=self.request.directory,
            group=group.group,
            members=list(members),
            chunk=group.chunk,
            last_chunk=last,
        )
        group.chunk += 1
        self.tally.chunks += 1
        self.tally.memberships += len(members)
        return event
