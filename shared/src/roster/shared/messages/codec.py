"""Messages ⇄ Kafka records: JSON values and CloudEvents headers (`ce_*`).

Decoding goes through one TypeAdapter per topic family, so a record of the wrong shape
raises `MessageDecodeError` naming the field, and the consumer dead-letters it.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from roster.shared import topics
from roster.shared.errors import MessageDecodeError
from roster.shared.messages.base import Message
from roster.shared.messages.commands import command_adapter
from roster.shared.messages.decisions import decision_adapter
from roster.shared.messages.directory import directory_event_adapter
from roster.shared.messages.results import result_adapter
from roster.shared.messages.runs import run_event_adapter
from roster.shared.messages.state import state_adapter
from roster.shared.messages.sync import SyncRequested

CE_SOURCE_PREFIX = "urn:roster:"

ADAPTERS: dict[str, TypeAdapter[Any]] = {
    topics.SYNC_REQUESTS: TypeAdapter(SyncRequested),
    topics.DIRECTORY_EVENTS: directory_event_adapter,
    topics.CONFLUENCE_COMMANDS: command_adapter,
    topics.CONFLUENCE_RESULTS: result_adapter,
    topics.CONFLUENCE_STATE: state_adapter,
    topics.RUN_EVENTS: run_event_adapter,
    topics.RUN_DECISIONS: decision_adapter,
}


def encode(message: Message) -> bytes:
    return message.model_dump_json().encode()


def headers(message: Message, *, source: str) -> dict[str, str]:
    kind = getattr(message, "type", type(message).__name__)
    return {
        "ce_specversion": "1.0",
        "ce_id": message.message_id,
        "ce_type": f"io.roster.{kind}.v{message.schema_version}",
        "ce_source": f"{CE_SOURCE_PREFIX}{source}",
        "ce_time": message.occurred_at.isoformat(),
        "content-type": "application/json",
    }


def decode(family: str, value: bytes | None) -> Any:
    """Parse a record of topic family `family` (the un-prefixed topic name)."""
    if value is None:
        raise MessageDecodeError("empty record value")
    try:
        return ADAPTERS[family].validate_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise MessageDecodeError(f"invalid {family} message at {where}: {first['msg']}") from exc
