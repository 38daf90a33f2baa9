"""`roster.confluence-commands`: what the reconciler tells the writer to do in Confluence.

Commands are level based ("user u should be in group g") with deterministic ids, keyed by
lower-case username (user and membership commands) or group name (group commands).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from roster.shared.messages.base import Message


class Command(Message):
    command_id: str
    directory: str | None = None
    reason: str = ""
    """The rule that caused this command, shown in the run's per-user results."""

    @property
    def key(self) -> str:
        raise NotImplementedError

    @property
    def target(self) -> str:
        return self.key


class UserCommand(Command):
    username: str
    """Lower-case Confluence username."""

    @property
    def key(self) -> str:
        return self.username


class CreateUser(UserCommand):
    type: Literal["CreateUser"] = "CreateUser"
    display_name: str
    email: str
    subject: str | None = None
    """IdP subject the new account is linked to."""


class UpdateUser(UserCommand):
    type: Literal["UpdateUser"] = "UpdateUser"
    display_name: str
    email: str


class DeactivateUser(UserCommand):
    type: Literal["DeactivateUser"] = "DeactivateUser"


class ReactivateUser(UserCommand):
    type: Literal["ReactivateUser"] = "ReactivateUser"


class DeleteUser(UserCommand):
    type: Literal["DeleteUser"] = "DeleteUser"


class GroupCommand(Command):
    group: str

    @property
    def key(self) -> str:
        return self.group


class CreateGroup(GroupCommand):
    type: Literal["CreateGroup"] = "CreateGroup"


class DeleteGroup(GroupCommand):
    type: Literal["DeleteGroup"] = "DeleteGroup"


class MembershipCommand(UserCommand):
    group: str

    @property
    def target(self) -> str:
        return f"{self.username} -> {self.group}"


class AddMembership(MembershipCommand):
    type: Literal["AddMembership"] = "AddMembership"


class RemoveMembership(MembershipCommand):
    type: Literal["RemoveMembership"] = "RemoveMembership"


class ReadConfluenceState(Command):
    """Ask the writer for a snapshot of Confluence, answered on `roster.confluence-state`."""

    type: Literal["ReadConfluenceState"] = "ReadConfluenceState"
    groups: list[str] = Field(default_factory=list)
    """Groups whose members to read (the managed ones)."""
    usernames: list[str] = Field(default_factory=list)
    """Users to read in addition to all users the server can list."""

    @property
    def key(self) -> str:
        return self.run_id


AnyCommand = Annotated[
    CreateUser
    | UpdateUser
    | DeactivateUser
    | ReactivateUser
    | DeleteUser
    | CreateGroup
    | DeleteGroup
    | AddMembership
    | RemoveMembership
    | ReadConfluenceState,
    Field(discriminator="type"),
]
command_adapter: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)
WriteCommand = (
    CreateUser
    | UpdateUser
    | DeactivateUser
    | ReactivateUser
    | DeleteUser
    | CreateGroup
    | DeleteGroup
    | AddMembership
    | RemoveMembership
)
