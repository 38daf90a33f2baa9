"""Does Confluence already hold what a command asks for? Pure checks on observed facts.

The executor uses them when a command's earlier attempt may have written (a crash mid-write,
an ambiguous network failure): it reads first and writes only when the check says no. Also
the adopt rule (409 on create) and the membership-404 triage live here. Nothing is fetched here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from roster.shared.messages.commands import (
    AddMembership,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeleteUser,
    ReactivateUser,
    RemoveMembership,
    UpdateUser,
    WriteCommand,
)


@dataclass(frozen=True)
class ObservedUser:
    username: str
    user_key: str | None
    display_name: str
    email: str | None
    """None when the email could not be read (REST never returns it; RPC may be off)."""
    active: bool


@dataclass(frozen=True)
class Observation:
    """What the executor read before deciding; `None` fields were not needed and not read."""

    user: ObservedUser | None = None
    group_exists: bool | None = None
    member: bool | None = None


class Read(enum.Enum):
    USER = "user"
    GROUP = "group"
    MEMBERSHIP = "membership"


def reads_for(command: WriteCommand) -> frozenset[Read]:
    """The facts `holds` needs for this command."""
    if isinstance(command, AddMembership | RemoveMembership):
        return frozenset({Read.MEMBERSHIP})
    if isinstance(command, CreateGroup | DeleteGroup):
        return frozenset({Read.GROUP})
    return frozenset({Read.USER})


def profile_differs(user: ObservedUser, *, display_name: str, email: str) -> bool:
    """True when a write is needed; an unreadable email counts as different (write to be sure)."""
    return user.display_name != display_name or user.email is None or user.email != email


def holds(command: WriteCommand, seen: Observation) -> bool:
    """True when the desired state of `command` is already in Confluence."""
    user = seen.user
    match command:
        case CreateUser() | UpdateUser():
            return user is not None and not profile_differs(
                user, display_name=command.display_name, email=command.email
            )
        case DeactivateUser():
            return user is None or not user.active
        case ReactivateUser():
            return user is not None and user.active
        case DeleteUser():
            return user is None
        case CreateGroup():
            return seen.group_exists is True
        case DeleteGroup():
            return seen.group_exists is False
        case AddMembership():
            return seen.member is True
        case RemoveMembership():
            return seen.member is False
    raise TypeError(f"not a write command: {type(command).__name__}")


class MissingSide(enum.Enum):
    """Why a membership write answered 404."""

    GROUP = "group"
    """Create the group (its CreateGroup may not have run yet), then add again."""
    USER = "user"
    """Wait: the user's CreateUser is ahead in its own partition or failed; retry later."""
    NEITHER = "neither"
    """Both exist now (a racing create): just try again."""


def missing_side(*, group_exists: bool, user_exists: bool) -> MissingSide:
    if not group_exists:
        return MissingSide.GROUP
    if not user_exists:
        return MissingSide.USER
    return MissingSide.NEITHER
