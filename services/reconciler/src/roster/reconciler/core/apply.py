"""`apply(plan, actual)`: the state Confluence and the link table reach when a plan succeeds.

A model of the writer's effect, used to prove convergence (planning again gives an empty
plan) and, later, to keep the actual-state mirror current from results. Mirrors the writer's
leniency: an `AddMembership` for a missing group creates the group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from roster.reconciler.core.plan import Plan
from roster.reconciler.core.state import ActualState, Owner
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
from roster.shared.messages.state import ConfluenceUser


@dataclass
class _Mutable:
    users: dict[str, ConfluenceUser]
    groups: set[str]
    members: dict[str, set[str]]
    owners: dict[str, Owner] = field(default_factory=dict)

    def member_set(self, group: str) -> set[str]:
        self.groups.add(group)
        return self.members.setdefault(group, set())


def _apply_user(state: _Mutable, command: WriteCommand) -> None:
    if isinstance(command, CreateUser):
        state.users[command.username] = ConfluenceUser(
            username=command.username, display_name=command.display_name, email=command.email
        )
    elif isinstance(command, UpdateUser):
        current = state.users[command.username]
        update = {"display_name": command.display_name, "email": command.email}
        state.users[command.username] = current.model_copy(update=update)
    elif isinstance(command, DeactivateUser | ReactivateUser):
        active = isinstance(command, ReactivateUser)
        current = state.users[command.username]
        state.users[command.username] = current.model_copy(update={"active": active})
    elif isinstance(command, DeleteUser):
        state.users.pop(command.username, None)
        for members in state.members.values():
            members.discard(command.username)


def _apply_group(state: _Mutable, command: WriteCommand) -> None:
    if isinstance(command, CreateGroup):
        state.member_set(command.group)
    elif isinstance(command, DeleteGroup):
        state.groups.discard(command.group)
        state.members.pop(command.group, None)
    elif isinstance(command, AddMembership):
        state.member_set(command.group).add(command.username)
    elif isinstance(command, RemoveMembership):
        state.members.get(command.group, set()).discard(command.username)


def apply(plan: Plan, actual: ActualState) -> ActualState:
    state = _Mutable(
        users=dict(actual.users),
        groups=set(actual.groups),
        members={g: set(m) for g, m in actual.members.items()},
        owners=dict(actual.owners),
    )
    for link in plan.links:
        state.owners[link.username] = Owner(plan.directory, link.subject)
    for command in plan.commands:
        _apply_user(state, command)
        _apply_group(state, command)
    return ActualState.of(
        users=state.users.values(),
        groups=state.groups,
        members=state.members,
        owners=state.owners,
    )
