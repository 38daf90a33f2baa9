"""Commands → the one result message each gets on `roster.confluence-results`.

Pure builders: the executor decides what happened, these copy the command's identity
(run, directory, username, group, reason) into `CommandSucceeded` / `CommandFailed`.
"""

from __future__ import annotations

from typing import Any

from roster.shared.messages.commands import UserCommand, WriteCommand
from roster.shared.messages.results import CommandFailed, CommandSucceeded

LICENCE_FULL = "no Confluence licence seat left"
DRY_RUN = "dry run"
REPLAY = "replay"
ADOPTED = "adopted"
RECOVERED = "recovered"
"""Detail of a command whose earlier, interrupted attempt turned out to have written already."""


def _identity(command: WriteCommand) -> dict[str, Any]:
    return {
        "run_id": command.run_id,
        "command_id": command.command_id,
        "operation": command.type,
        "directory": command.directory,
        "username": command.username if isinstance(command, UserCommand) else None,
        "group": getattr(command, "group", None),
        "reason": command.reason,
    }


def succeeded(
    command: WriteCommand, *, noop: bool = False, detail: str = "", user_key: str | None = None
) -> CommandSucceeded:
    return CommandSucceeded(**_identity(command), noop=noop, detail=detail, user_key=user_key)


def failed(
    command: WriteCommand, *, error: str, permanent: bool, status: int | None = None
) -> CommandFailed:
    return CommandFailed(**_identity(command), permanent=permanent, status=status, error=error)
