"""`roster.dead-letter`: a record a consumer gave up on, kept whole for a later replay."""

from __future__ import annotations

from typing import Literal

from roster.shared.messages.base import Message


class DeadLettered(Message):
    type: Literal["DeadLettered"] = "DeadLettered"
    topic: str
    partition: int
    offset: int
    key: str | None
    value: str
    """The original record value, decoded as UTF-8 with replacement."""
    error: str
    consumer: str
    """Consumer group that gave up."""
    attempts: int
