"""`roster.sync-requests`: asks a fetcher to read its directory (scheduler, API, webhooks)."""

from __future__ import annotations

from typing import Literal

from roster.shared.messages.base import Message

SyncMode = Literal["full", "delta", "single"]


class SyncRequested(Message):
    type: Literal["SyncRequested"] = "SyncRequested"
    directory: str
    mode: SyncMode = "full"
    subject: str | None = None
    """IdP subject for `single` mode (sync at login)."""
    dry_run: bool = False
    trigger: str = "manual"
    """Who asked: manual, schedule, webhook, api, jit."""
