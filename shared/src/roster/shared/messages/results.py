"""`roster.confluence-results`: one result per executed command, from the writer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from roster.shared.messages.base import Message


class CommandResult(Message):
    command_id: str
    operation: str
    """The command's type, e.g. CreateUser."""
    directory: str | None = None
    username: str | None = None
    group: str | None = None
    reason: str = ""
    """The rule that caused the command (copied from it)."""


class CommandSucceeded(CommandResult):
    type: Literal["CommandSucceeded"] = "CommandSucceeded"
    noop: bool = False
    """True when nothing had to change (already in the desired state, or a replay)."""
    detail: str = ""
    user_key: str | None = None


class CommandFailed(CommandResult):
    type: Literal["CommandFailed"] = "CommandFailed"
    permanent: bool
    status: int | None = None
    error: str


AnyResult = Annotated[CommandSucceeded | CommandFailed, Field(discriminator="type")]
result_adapter: TypeAdapter[AnyResult] = TypeAdapter(AnyResult)
