"""How a run begins on the wire: `RunStarted` for the run history, then `SyncRequested`
for the directory's fetcher. The scheduler (API, CLI, schedules) and the fetcher (webhooks,
SCIM, sync at login) both start runs this one way; who may start one is theirs to decide."""

from __future__ import annotations

from roster.shared import topics
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.runs import RunStarted
from roster.shared.messages.sync import SyncMode, SyncRequested


async def announce_run(
    runtime: KafkaRuntime,
    *,
    run_id: str,
    directory: str,
    mode: SyncMode,
    trigger: str,
    dry_run: bool = False,
    subject: str | None = None,
) -> None:
    """Publish `RunStarted` (keyed by run) and its `SyncRequested` (keyed by directory)."""
    started = RunStarted(
        run_id=run_id, directory=directory, mode=mode, trigger=trigger, dry_run=dry_run
    )
    await runtime.publish(topics.RUN_EVENTS, started, key=run_id)
    request = SyncRequested(
        run_id=run_id,
        directory=directory,
        mode=mode,
        subject=subject,
        dry_run=dry_run,
        trigger=trigger,
    )
    await runtime.publish(topics.SYNC_REQUESTS, request, key=directory)
