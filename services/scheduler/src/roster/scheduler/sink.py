"""The sink: stores run events and per-command results, and closes runs.

A run completes when as many distinct results arrived as `RunPlanned.commands` said; the
sink then publishes `RunCompleted` and frees the directory's sync lock. It changes nothing
in Confluence and makes no decision about users.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import structlog

from roster.scheduler.runs import RunStore
from roster.shared import topics
from roster.shared.kafka import Delivery, KafkaRuntime
from roster.shared.messages.results import CommandResult
from roster.shared.messages.runs import (
    PlanSummary,
    RunCompleted,
    RunFailed,
    RunHeld,
    RunPlanned,
    RunProgress,
    RunStarted,
)

log = structlog.get_logger()
GROUP = "scheduler-sink"


class Sink:
    def __init__(self, runtime: KafkaRuntime, store: RunStore) -> None:
        self._runtime = runtime
        self._store = store

    def subscribe(self) -> None:
        self._runtime.subscribe(topics.RUN_EVENTS, group=GROUP, handler=self._on_run_events)
        self._runtime.subscribe(
            topics.CONFLUENCE_RESULTS, group=GROUP, handler=self._on_results, max_records=1000
        )

    async def _on_run_events(self, deliveries: Sequence[Delivery]) -> None:
        await self._runtime.run_each(deliveries, self.on_run_event, group=GROUP)

    async def _on_results(self, deliveries: Sequence[Delivery]) -> None:
        await self._runtime.run_each(deliveries, self.on_result, group=GROUP)
        for run_id in {d.message.run_id for d in deliveries if d.message is not None}:
            await self._finish_if_done(run_id)

    async def on_run_event(self, event: Any) -> None:
        run_id = event.run_id
        if isinstance(event, RunStarted):
            await self._store.started(
                run_id,
                {
                    "directory": event.directory,
                    "mode": event.mode,
                    "trigger": event.trigger,
                    "dry_run": event.dry_run,
                    "phase": "requested",
                },
            )
        elif isinstance(event, RunProgress):
            fields = {"phase": event.phase, "phase_done": event.done}
            await self._store.update(run_id, fields)
        elif isinstance(event, RunPlanned):
            if ((await self._store.get(run_id)) or {}).get("status") == "held":
                await self._store.update(run_id, {"status": "running"})  # approved
            await self._store.update(
                run_id,
                {
                    "commands": event.commands,
                    "summary": event.summary.model_dump(),
                    "planned_at": time.time(),
                    "phase": "writing",
                    "dry_run": event.dry_run,
                },
            )
            await self._finish_if_done(run_id)
        elif isinstance(event, RunHeld):
            await self._store.update(
                run_id,
                {"status": "held", "reason": event.reason, "summary": event.summary.model_dump()},
            )
        elif isinstance(event, RunCompleted) and event.status == "rejected":
            fields = {"status": "rejected", "phase": "done", "completed_at": time.time()}
            await self._store.update(run_id, fields)
            await self._store.unlock(event.directory, run_id)
        elif isinstance(event, RunFailed):
            await self._store.update(
                run_id,
                {"status": "failed", "error": event.error, "completed_at": time.time()},
            )
            await self._store.unlock(event.directory, run_id)
            log.warning("run failed", run_id=run_id, directory=event.directory, error=event.error)

    async def on_result(self, result: CommandResult) -> None:
        await self._store.record_result(result)

    async def _finish_if_done(self, run_id: str) -> None:
        if not await self._store.try_complete(run_id):
            return
        run = await self._store.get(run_id) or {}
        directory = str(run.get("directory", "unknown"))
        summary = PlanSummary.model_validate(run.get("summary") or {})
        status = str(run.get("status", "succeeded"))
        await self._store.update(run_id, {"phase": "done"})
        await self._store.unlock(directory, run_id)
        await self._runtime.publish(
            topics.RUN_EVENTS,
            RunCompleted(run_id=run_id, directory=directory, status=status, summary=summary),
            key=run_id,
        )
        log.info(
            "run completed",
            run_id=run_id,
            directory=directory,
            status=status,
            commands=run.get("commands"),
            applied=run.get("applied", 0),
            noop=run.get("noop", 0),
            failed=run.get("failed", 0),
        )
