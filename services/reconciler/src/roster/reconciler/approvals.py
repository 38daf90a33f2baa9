"""Thin Kafka edge of `roster.run-decisions`: an administrator's approval or rejection of
a held run goes to the planner, which executes or closes the run exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from roster.reconciler.planner import RunPlanner
from roster.shared import topics
from roster.shared.kafka import Delivery, KafkaRuntime
from roster.shared.messages.decisions import RunApproved, RunRejected

GROUP = "reconciler"


class DecisionHandler:
    def __init__(self, runtime: KafkaRuntime, planner: RunPlanner) -> None:
        self.runtime = runtime
        self.planner = planner

    def subscribe(self) -> None:
        self.runtime.subscribe(topics.RUN_DECISIONS, group=GROUP, handler=self.on_batch)

    async def on_batch(self, deliveries: Sequence[Delivery]) -> None:
        await self.runtime.run_each(deliveries, self.handle, group=GROUP)

    async def handle(self, message: Any) -> None:
        with structlog.contextvars.bound_contextvars(
            directory=message.directory, run_id=message.run_id
        ):
            if isinstance(message, RunApproved):
                await self.planner.approve(message)
            elif isinstance(message, RunRejected):
                await self.planner.reject(message)
