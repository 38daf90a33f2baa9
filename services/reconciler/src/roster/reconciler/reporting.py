"""How a run's planning ends, said once: `RunFailed` / `RunPlanned`, the marker, metrics, log.

Both phases of the reconciler (snapshot intake and planning) end runs through here, so a
run is marked at most once and every end is counted and logged the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import structlog

from roster.reconciler.adapters.runs import RunMarks
from roster.reconciler.metrics import ReconcilerMetrics
from roster.shared import topics
from roster.shared.messages.base import Message
from roster.shared.messages.runs import PlanSummary, RunFailed, RunPlanned

log = structlog.get_logger()


class Publisher(Protocol):
    """What the reconciler needs of `KafkaRuntime`; tests pass a recording fake."""

    async def publish(self, family: str, message: Message, *, key: str) -> None: ...

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None: ...


class RunReporter:
    def __init__(self, publisher: Publisher, marks: RunMarks, metrics: ReconcilerMetrics) -> None:
        self.publisher = publisher
        self.marks = marks
        self.metrics = metrics

    async def fail(self, run_id: str, directory: str, error: str) -> None:
        log.warning("run failed", error=error)
        failed = RunFailed(run_id=run_id, directory=directory, error=error)
        await self.publisher.publish(topics.RUN_EVENTS, failed, key=run_id)
        await self.marks.mark_planned(run_id, "failed")
        self.metrics.plans.labels(directory, "failed").inc()

    async def planned(
        self, run_id: str, directory: str, summary: PlanSummary, *, commands: int, dry_run: bool
    ) -> None:
        outcome = "dry-run" if dry_run else "planned"
        event = RunPlanned(
            run_id=run_id, directory=directory, summary=summary, commands=commands, dry_run=dry_run
        )
        await self.publisher.publish(topics.RUN_EVENTS, event, key=run_id)
        await self.marks.mark_planned(run_id, outcome)
        self.metrics.plans.labels(directory, outcome).inc()
        log.info("run planned", outcome=outcome, commands=commands, **summary.model_dump())
