"""Kafka side of the writer: a batch of `roster.confluence-commands` → executions → results.

Deliveries are grouped by Kafka key; keys run concurrently (at most `concurrency` at once),
each key's commands strictly in order, each through `runtime.run_one` (retry, dead letter).
Write commands get exactly one result on `roster.confluence-results`; `ReadConfluenceState`
gets its pages and completion marker on `roster.confluence-state`. No Confluence logic here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from roster.shared import topics
from roster.shared.kafka import Delivery, RecordHandler
from roster.shared.messages.base import Message
from roster.shared.messages.commands import ReadConfluenceState
from roster.shared.messages.results import CommandFailed, CommandSucceeded
from roster.shared.messages.state import ConfluenceStateCompleted
from roster.writer.executor import CommandExecutor
from roster.writer.reader import StateReader

GROUP = "confluence-writer"
UNSENT_LIMIT = 10_000


class Runtime(Protocol):
    """The part of `KafkaRuntime` the handler uses (a fake in tests)."""

    async def run_one(self, delivery: Delivery, handle: RecordHandler, *, group: str) -> None: ...

    async def publish(self, family: str, message: Message, *, key: str) -> None: ...

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None: ...


class CommandHandler:
    def __init__(
        self,
        runtime: Runtime,
        executor: CommandExecutor,
        reader: StateReader,
        *,
        concurrency: int,
        budget_seconds: float = 840.0,
    ) -> None:
        self._runtime = runtime
        self._executor = executor
        self._reader = reader
        self._concurrency = concurrency
        self._budget = budget_seconds
        self._unsent: dict[str, CommandSucceeded | CommandFailed] = {}
        """Results whose publishing failed: a retry republishes them instead of re-executing."""

    async def on_batch(self, deliveries: Sequence[Delivery]) -> None:
        lanes: dict[str, list[Delivery]] = {}
        for delivery in deliveries:
            lanes.setdefault(delivery.key or "", []).append(delivery)
        gate = asyncio.Semaphore(self._concurrency)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._budget

        async def within_budget(message: Any) -> None:
            left = deadline - loop.time()
            await (self.handle(message, budget=left) if left > 0 else self.defer(message))

        async def lane(items: list[Delivery]) -> None:
            async with gate:
                for delivery in items:
                    await self._runtime.run_one(delivery, within_budget, group=GROUP)

        async with asyncio.TaskGroup() as tasks:
            for items in lanes.values():
                tasks.create_task(lane(items))

    async def handle(self, message: Any, *, budget: float | None = None) -> None:
        """Execute or read, publish the answer; `budget` is the batch's time left, seconds."""
        if isinstance(message, ReadConfluenceState):
            pages, marker = await self._reader.read(message, budget=budget)
            items: list[tuple[str, Message]] = [(message.run_id, page) for page in pages]
            items.append((message.run_id, marker))
            await self._runtime.publish_many(topics.CONFLUENCE_STATE, items)
            return
        result = self._unsent.pop(message.command_id, None)
        if result is None:
            result = await self._executor.execute(message, budget=budget)
        await self._publish(message.key, result)

    async def defer(self, message: Any) -> None:
        """Answer without executing: the batch's time is up (Kafka's max_poll_interval)."""
        why = "the writer's batch ran out of time; the next sync retries it"
        if isinstance(message, ReadConfluenceState):
            marker = ConfluenceStateCompleted(
                run_id=message.run_id, pages=0, users=0, groups=0, error=f"not read: {why}"
            )
            await self._runtime.publish(topics.CONFLUENCE_STATE, marker, key=message.run_id)
            return
        await self._publish(message.key, self._executor.defer(message, why=why))

    async def _publish(self, key: str, result: CommandSucceeded | CommandFailed) -> None:
        try:
            await self._runtime.publish(topics.CONFLUENCE_RESULTS, result, key=key)
        except BaseException:
            if len(self._unsent) < UNSENT_LIMIT:
                self._unsent[result.command_id] = result
            raise
