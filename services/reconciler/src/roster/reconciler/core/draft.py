"""The plan while it is being built: commands, links and reasons, collected per user.

The rule modules (`users`, `memberships`) write into one `Draft`; `plan` freezes it. Every
command's reason is also the user's explanation, so people see why each write happens.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from roster.reconciler.core.commands import CommandFactory
from roster.reconciler.core.state import NewLink
from roster.shared.messages.commands import CreateGroup, UserCommand, WriteCommand

# the outcome of a user with several commands is the strongest of them
_OUTCOME = (
    ("CreateUser", "created"),
    ("DeleteUser", "deleted"),
    ("DeactivateUser", "deactivated"),
    ("ReactivateUser", "reactivated"),
    ("UpdateUser", "updated"),
    ("AddMembership", "memberships"),
    ("RemoveMembership", "memberships"),
)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a user gets the commands it gets (or none)."""

    username: str | None
    """None for an IdP user skipped before it had a Confluence username."""
    subject: str | None
    outcome: str
    """created, reactivated, updated, memberships, deactivated, deleted, unchanged,
    ignored (not managed by this directory), skipped or conflict."""
    reasons: tuple[str, ...]


@dataclass
class _UserNotes:
    reasons: list[str] = field(default_factory=list)
    operations: set[str] = field(default_factory=set)
    outcome: str | None = None


@dataclass
class Draft:
    factory: CommandFactory
    group_commands: list[CreateGroup] = field(default_factory=list)
    user_commands: dict[str, list[WriteCommand]] = field(default_factory=dict)
    links: list[NewLink] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _users: dict[tuple[str | None, str | None], _UserNotes] = field(
        default_factory=lambda: defaultdict(_UserNotes)
    )

    def add(self, command: WriteCommand, *, subject: str | None) -> None:
        if isinstance(command, CreateGroup):
            self.group_commands.append(command)
            return
        assert isinstance(command, UserCommand)
        self.user_commands.setdefault(command.username, []).append(command)
        notes = self._users[(command.username, subject)]
        notes.reasons.append(command.reason)
        notes.operations.add(command.type)

    def track(self, username: str, subject: str) -> None:
        """Make sure the user gets an explanation, even if nothing happens to it."""
        self._users[(username, subject)]

    def note(
        self, username: str | None, subject: str | None, reason: str, *, outcome: str | None = None
    ) -> None:
        notes = self._users[(username, subject)]
        notes.reasons.append(reason)
        if outcome is not None:
            notes.outcome = outcome

    def explanations(self) -> tuple[Explanation, ...]:
        result = []
        for (username, subject), notes in self._users.items():
            outcome = notes.outcome or _outcome(notes.operations)
            result.append(Explanation(username, subject, outcome, tuple(notes.reasons)))
        return tuple(sorted(result, key=lambda e: (e.username or "", e.subject or "")))


def _outcome(operations: set[str]) -> str:
    for operation, outcome in _OUTCOME:
        if operation in operations:
            return outcome
    return "unchanged"
