"""Thin Kafka edges: `roster.directory-events` and `roster.confluence-state` subscribers.

They dispatch each message to the intake or the planner with `directory` and `run_id`
bound for logging. Runs of consecutive observations and delta events are stored in one
Redis round trip; every record still goes through `runtime.run_each`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import structlog

from roster.reconciler.adapters.snapshots import Observation
from roster.reconciler.core.delta import DELTA_EVENTS, DeltaEvent
from roster.reconciler.intake import SnapshotIntake
from roster.reconciler.planner import RunPlanner
from roster.shared.kafka import Delivery, KafkaRuntime
from roster.shared.messages.directory import (
    GroupObserved,
    SnapshotCompleted,
    SnapshotFailed,
    SnapshotStarted,
    UserObserved,
)
from roster.shared.messages.state import ConfluenceStateCompleted, ConfluenceStatePage

GROUP = "reconciler"
log = structlog.get_logger()


def _is_observation(delivery: Delivery) -> bool:
    return isinstance(delivery.message, UserObserved | GroupObserved | DELTA_EVENTS)


def segments(deliveries: Sequence[Delivery]) -> Iterator[tuple[bool, list[Delivery]]]:
    """Split a batch, in order, into runs of observations and single other records."""
    run: list[Delivery] = []
    for delivery in deliveries:
        if _is_observation(delivery):
            run.append(delivery)
            continue
        if run:
            yield True, run
            run = []
        yield False, [delivery]
    if run:
        yield True, run


async def _already_stored(message: Any) -> None:
    return None


class Handlers:
    def __init__(self, runtime: KafkaRuntime, intake: SnapshotIntake, planner: RunPlanner) -> None:
        self.runtime = runtime
        self.intake = intake
        self.planner = planner

    async def on_directory_batch(self, deliveries: Sequence[Delivery]) -> None:
        for bulk, segment in segments(deliveries):
            if bulk and await self._store_bulk(segment):
                # stored already; run_each still counts (and settles) every record
                await self.runtime.run_each(segment, _already_stored, group=GROUP)
            else:
                await self.runtime.run_each(segment, self.handle_directory_event, group=GROUP)

    async def _store_bulk(self, segment: list[Delivery]) -> bool:
        events: list[Observation | DeltaEvent] = [d.message for d in segment]
        outcome = await self.runtime.retrier.run(lambda: self.intake.observed(events))
        if not outcome.ok:
            log.warning("bulk store failed, storing one by one", error=str(outcome.error))
        return outcome.ok

    async def handle_directory_event(self, message: Any) -> None:
        with structlog.contextvars.bound_contextvars(
            directory=message.directory, run_id=message.run_id
        ):
            if isinstance(message, UserObserved | GroupObserved | DELTA_EVENTS):
                await self.intake.observed([message])
            elif isinstance(message, SnapshotStarted):
                await self.intake.started(message)
            elif isinstance(message, SnapshotCompleted):
                await self.intake.completed(message)
            elif isinstance(message, SnapshotFailed):
                await self.intake.failed(message)
            else:
                log.debug("directory event ignored", type=message.type)

    async def on_state_batch(self, deliveries: Sequence[Delivery]) -> None:
        await self.runtime.run_each(deliveries, self.handle_state, group=GROUP)

    async def handle_state(self, message: Any) -> None:
        with structlog.contextvars.bound_contextvars(run_id=message.run_id):
            if isinstance(message, ConfluenceStatePage):
                await self.planner.page(message)
            elif isinstance(message, ConfluenceStateCompleted):
                await self.planner.completed(message)
