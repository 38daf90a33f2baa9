"""Identifier types and the deterministic ids that make replays harmless.

Command ids are hashes of what a command means (run, operation, target, desired values), so
the same decision made twice has the same id and the writer can drop the repeat.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, NewType

RunId = NewType("RunId", str)
DirectoryId = NewType("DirectoryId", str)
CommandId = NewType("CommandId", str)
Subject = NewType("Subject", str)
"""Immutable id of a user in an IdP (Graph object id, Okta id, Keycloak UUID, ...)."""


def new_run_id() -> RunId:
    return RunId(uuid.uuid4().hex[:16])


def new_message_id() -> str:
    return uuid.uuid4().hex


def command_id(run_id: str, operation: str, target: str, desired: dict[str, Any]) -> CommandId:
    payload = json.dumps([run_id, operation, target, desired], sort_keys=True, default=str)
    return CommandId(hashlib.sha256(payload.encode()).hexdigest()[:32])
