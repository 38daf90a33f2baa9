"""`roster.confluence-state`: a snapshot of Confluence read by the writer, in pages.

The reconciler plans against it; `ConfluenceStateCompleted` says how many pages were sent.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from roster.shared.messages.base import Message, Model


class ConfluenceUser(Model):
    username: str
    user_key: str | None = None
    display_name: str = ""
    email: str | None = None
    active: bool = True
    last_login: str | None = None
    """ISO timestamp of the last login where the server reports it (9.3+)."""


class ConfluenceStatePage(Message):
    type: Literal["ConfluenceStatePage"] = "ConfluenceStatePage"
    page: int
    users: list[ConfluenceUser] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    """Group names that exist in Confluence."""
    members: dict[str, list[str]] = Field(default_factory=dict)
    """Managed group → usernames (a group may span several pages)."""


class ConfluenceStateCompleted(Message):
    type: Literal["ConfluenceStateCompleted"] = "ConfluenceStateCompleted"
    pages: int
    users: int
    groups: int
    error: str | None = None
    """Set when the snapshot could not be read; the reconciler then plans nothing."""


AnyState = Annotated[ConfluenceStatePage | ConfluenceStateCompleted, Field(discriminator="type")]
state_adapter: TypeAdapter[AnyState] = TypeAdapter(AnyState)
