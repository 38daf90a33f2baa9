"""Incremental changes as a connector reads them, before they become directory events.

A connector's `changes(cursor)` returns a `ChangeSet`: the changes since the cursor, in the
IdP's order, and the cursor to resume after. The fetcher publishes them as delta events
between `SnapshotStarted(mode="delta")` and `SnapshotCompleted` (counts = events per kind).
"""

from __future__ import annotations

from dataclasses import dataclass

from roster.shared.errors import PermanentError
from roster.shared.messages.directory import IdpGroup, IdpUser


@dataclass(frozen=True, slots=True)
class UserUpserted:
    """A user was created or changed (its full current state; `active=False` when disabled)."""

    user: IdpUser


@dataclass(frozen=True, slots=True)
class UserDeleted:
    subject: str


@dataclass(frozen=True, slots=True)
class GroupUpserted:
    group: IdpGroup


@dataclass(frozen=True, slots=True)
class GroupDeleted:
    group_id: str


@dataclass(frozen=True, slots=True)
class MemberAdded:
    group_id: str
    subject: str


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    group_id: str
    subject: str


Change = UserUpserted | UserDeleted | GroupUpserted | GroupDeleted | MemberAdded | MemberRemoved


@dataclass(frozen=True, slots=True)
class ChangeSet:
    changes: tuple[Change, ...]
    cursor: str
    """Opaque to the fetcher (a Graph deltaLink, an Okta timestamp, ...); stored per directory."""


class CursorExpired(PermanentError):
    """The IdP no longer accepts the cursor (Graph 410 `syncStateNotFound`, ...): the fetcher
    answers with a full snapshot instead and stores the new start cursor."""
