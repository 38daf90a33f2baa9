"""Builds the write commands of a plan with deterministic ids.

A command's id is a hash of run, operation, target and desired values, and its message id is
the same value, so planning the same run twice yields equal commands and the writer drops
the repeat. Nothing here decides *whether* a command is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roster.shared.ids import command_id
from roster.shared.messages.commands import (
    AddMembership,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteUser,
    ReactivateUser,
    RemoveMembership,
    UpdateUser,
    WriteCommand,
)

UserOnly = type[DeactivateUser] | type[ReactivateUser] | type[DeleteUser]
Membership = type[AddMembership] | type[RemoveMembership]


@dataclass(frozen=True)
class CommandFactory:
    run_id: str
    directory: str
    issued_at: datetime

    def _envelope(
        self, operation: str, target: str, desired: dict[str, Any], reason: str
    ) -> dict[str, Any]:
        cid = command_id(self.run_id, operation, target, desired)
        return {
            "command_id": cid,
            "message_id": cid,
            "occurred_at": self.issued_at,
            "run_id": self.run_id,
            "directory": self.directory,
            "reason": reason,
        }

    def create_user(
        self, username: str, *, display_name: str, email: str, subject: str, reason: str
    ) -> CreateUser:
        desired = {"display_name": display_name, "email": email, "subject": subject}
        envelope = self._envelope("CreateUser", username, desired, reason)
        return CreateUser(username=username, **desired, **envelope)

    def update_user(
        self, username: str, *, display_name: str, email: str, reason: str
    ) -> UpdateUser:
        desired = {"display_name": display_name, "email": email}
        envelope = self._envelope("UpdateUser", username, desired, reason)
        return UpdateUser(username=username, **desired, **envelope)

    def user(self, kind: UserOnly, username: str, *, reason: str) -> WriteCommand:
        operation = kind.model_fields["type"].default
        return kind(username=username, **self._envelope(operation, username, {}, reason))

    def membership(
        self, kind: Membership, username: str, group: str, *, reason: str
    ) -> WriteCommand:
        operation = kind.model_fields["type"].default
        target = f"{username} -> {group}"
        envelope = self._envelope(operation, target, {}, reason)
        return kind(username=username, group=group, **envelope)

    def create_group(self, group: str, *, reason: str) -> CreateGroup:
        return CreateGroup(group=group, **self._envelope("CreateGroup", group, {}, reason))
