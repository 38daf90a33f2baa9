"""The one configured base model and the message envelope shared by all topics."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from roster.shared.ids import new_message_id

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    """Base of every Roster data model: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Message(Model):
    """Envelope fields every message carries; subclasses add a literal `type`."""

    message_id: str = Field(default_factory=new_message_id)
    occurred_at: datetime = Field(default_factory=utcnow)
    """When the fact happened or the command was issued, UTC."""
    run_id: str
    """The sync run this message belongs to."""
    schema_version: int = SCHEMA_VERSION
