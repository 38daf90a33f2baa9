"""`roster.directory-events`: normalised facts a fetcher read from an IdP.

A full snapshot is `SnapshotStarted`, then `UserObserved` / `GroupObserved` (members in
chunks), then `SnapshotCompleted`; deltas use the *Changed/*Removed/Membership* events.
All are keyed by directory id so one directory's records stay in order.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from roster.shared.messages.base import Message, Model
from roster.shared.messages.sync import SyncMode


class IdpUser(Model):
    """A user as any IdP describes it, normalised (reference/idp-apis.md §6)."""

    subject: str
    """Immutable IdP id."""
    login: str
    """The IdP's login name (may change: renames)."""
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    active: bool = True
    attributes: dict[str, str | list[str]] = Field(default_factory=dict)
    """Other IdP attributes, for mapping rules."""


class IdpGroup(Model):
    id: str
    name: str
    path: str | None = None
    parent_id: str | None = None


class DirectoryEvent(Message):
    directory: str


class SnapshotStarted(DirectoryEvent):
    type: Literal["SnapshotStarted"] = "SnapshotStarted"
    mode: SyncMode = "full"
    dry_run: bool = False
    trigger: str = "manual"


class UserObserved(DirectoryEvent):
    type: Literal["UserObserved"] = "UserObserved"
    user: IdpUser


class GroupObserved(DirectoryEvent):
    type: Literal["GroupObserved"] = "GroupObserved"
    group: IdpGroup
    members: list[str] = Field(default_factory=list)
    """Subjects of direct members in this chunk."""
    chunk: int = 0
    last_chunk: bool = True


class SnapshotCompleted(DirectoryEvent):
    type: Literal["SnapshotCompleted"] = "SnapshotCompleted"
    users: int
    groups: int
    memberships: int
    chunks: int = 0
    """Number of GroupObserved records sent, so the consumer can check it saw all."""


class SnapshotFailed(DirectoryEvent):
    type: Literal["SnapshotFailed"] = "SnapshotFailed"
    error: str


class UserChanged(DirectoryEvent):
    type: Literal["UserChanged"] = "UserChanged"
    user: IdpUser


class UserRemoved(DirectoryEvent):
    type: Literal["UserRemoved"] = "UserRemoved"
    subject: str


class GroupChanged(DirectoryEvent):
    type: Literal["GroupChanged"] = "GroupChanged"
    group: IdpGroup


class GroupRemoved(DirectoryEvent):
    type: Literal["GroupRemoved"] = "GroupRemoved"
    group_id: str


class MembershipAdded(DirectoryEvent):
    type: Literal["MembershipAdded"] = "MembershipAdded"
    group_id: str
    subject: str


class MembershipRemoved(DirectoryEvent):
    type: Literal["MembershipRemoved"] = "MembershipRemoved"
    group_id: str
    subject: str


AnyDirectoryEvent = Annotated[
    SnapshotStarted
    | UserObserved
    | GroupObserved
    | SnapshotCompleted
    | SnapshotFailed
    | UserChanged
    | UserRemoved
    | GroupChanged
    | GroupRemoved
    | MembershipAdded
    | MembershipRemoved,
    Field(discriminator="type"),
]
directory_event_adapter: TypeAdapter[AnyDirectoryEvent] = TypeAdapter(AnyDirectoryEvent)
