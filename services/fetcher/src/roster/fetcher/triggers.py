"""Runs the fetcher starts by itself: webhooks, SCIM pushes and sync at login.

The scheduler starts manual and scheduled runs; everything that arrives at the fetcher
(an IdP notification, a SCIM request, an SSO flow's just-in-time call) starts its run here:
`RunStarted` for the run history, then `SyncRequested` for the fetcher's own subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass

from roster.shared import topics
from roster.shared.ids import new_run_id
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.runs import RunStarted
from roster.shared.messages.sync import SyncMode, SyncRequested


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
        started = RunStarted(
            run_id=run_id, directory=directory, mode=mode, trigger=trigger, dry_run=dry_run
        )
        await self.runtime.publish(topics.RUN_EVENTS, started, key=run_id)
        request = SyncRequested(
            run_id=run_id,
            directory=directory,
            mode=mode,
            subject=subject,
            dry_run=dry_run,
            trigger=trigger,
        )
        await self.runtime.publish(topics.SYNC_REQUESTS, request, key=directory)
        return run_id
