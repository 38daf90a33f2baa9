"""Runs the fetcher starts by itself: webhooks, SCIM pushes and sync at login.

The scheduler starts manual and scheduled runs; everything that arrives at the fetcher
(an IdP notification, a SCIM request, an SSO flow's just-in-time call) starts its run here:
`RunStarted` for the run history, then `SyncRequested` for the fetcher's own subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass

from roster.shared.ids import new_run_id
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.sync import SyncMode
from roster.shared.runstart import announce_run


@dataclass(frozen=True)
class SyncTrigger:
    runtime: KafkaRuntime

    async def request_sync(
        self,
        directory: str,
        *,
        mode: SyncMode = "delta",
        trigger: str = "webhook",
        subject: str | None = None,
        dry_run: bool = False,
    ) -> str:
        """Publish `RunStarted` and `SyncRequested` for a new run; returns its run id."""
        run_id = new_run_id()
        await announce_run(
            self.runtime, run_id=run_id, directory=directory, mode=mode, trigger=trigger,
            dry_run=dry_run, subject=subject,
        )  # fmt: skip
        return run_id
