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
    ) -> None:
        self._runtime = runtime
        self._executor = executor
        self._reader = reader
        self._concurrency = concurrency
        self._unsent: dict[str, CommandSucceeded | CommandFailed] = {}
        """Results whose publishing failed: a retry republishes them instead of re-executing."""

    async def on_batch(self, deliveries: Sequence[Delivery]) -> None:
        lanes: dict[str, list[Delivery]] = {}
        for delivery in deliveries:
            lanes.setdefault(delivery.key or "", []).append(delivery)
        gate = asyncio.Semaphore(self._concurrency)

        async def lane(items: list[Delivery]) -> None:
            async with gate:
                for delivery in items:
                    await self._runtime.run_one(delivery, self.handle, group=GROUP)

        async with asyncio.TaskGroup() as tasks:
            for items in lanes.values():
                tasks.create_task(lane(items))

    async def handle(self, message: Any) -> None:
        if isinstance(message, ReadConfluenceState):
            pages, marker = await self._reader.read(message)
            items: list[tuple[str, Message]] = [(message.run_id, page) for page in pages]
            items.append((message.run_id, marker))
            await self._runtime.publish_many(topics.CONFLUENCE_STATE, items)
            return
        result = self._unsent.pop(message.command_id, None) or await self._executor.execute(message)
        try:
            await self._runtime.publish(topics.CONFLUENCE_RESULTS, result, key=message.key)
        except BaseException:
            if len(self._unsent) < UNSENT_LIMIT:
                self._unsent[message.command_id] = result
            raise
