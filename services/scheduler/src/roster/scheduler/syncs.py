"""Starting a sync: the one way the API, the CLI and the cron schedules ask for a run.

Takes the directory's one-sync-at-a-time lock, records the run as started, and publishes
`RunStarted` (for the sink) and `SyncRequested` (for the directory's fetcher). A second
request while a run holds the lock is answered with that run's id, nothing is published.
"""

from __future__ import annotations

from dataclasses import dataclass

from roster.scheduler.runs import RunStore
from roster.shared.ids import new_run_id
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.sync import SyncMode
from roster.shared.runstart import announce_run


@dataclass(frozen=True)
class Started:
    run_id: str
    running: str | None = None
    """Set when the directory already had a run: that run's id (and nothing was started)."""


class SyncStarter:
    def __init__(self, runtime: KafkaRuntime, store: RunStore) -> None:
        self._runtime = runtime
        self._store = store

    async def start(
        self,
        directory: str,
        *,
        mode: SyncMode = "full",
        subject: str | None = None,
        dry_run: bool = False,
        trigger: str = "api",
    ) -> Started:
        run_id = new_run_id()
        holder = await self._store.lock(directory, run_id)
        if holder is not None:
            return Started(run_id=holder, running=holder)
        fields = {"directory": directory, "mode": mode, "trigger": trigger, "dry_run": dry_run}
        await self._store.started(run_id, fields)
        await announce_run(
            self._runtime, run_id=run_id, directory=directory, mode=mode, trigger=trigger,
            dry_run=dry_run, subject=subject,
        )  # fmt: skip
        return Started(run_id=run_id)
