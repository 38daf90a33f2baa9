"""Runs one full snapshot: connector stream → assembler → batched Kafka publishing.

A connector failure (or a broken stream) ends in `SnapshotFailed` + `RunFailed`, never in
a short `SnapshotCompleted`: a failed fetch must not look like an empty directory. A publish
failure is not caught here; it propagates so the consumer retries the request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from roster.fetcher.connectors.base import Connector
from roster.fetcher.core.snapshot import (
    SnapshotAssembler,
    SnapshotItem,
    SnapshotOrderError,
    SnapshotTally,
)
from roster.fetcher.metrics import FetcherMetrics
from roster.shared import topics
from roster.shared.errors import RosterError
from roster.shared.messages.base import Message
from roster.shared.messages.runs import RunFailed, RunProgress
from roster.shared.messages.sync import SyncRequested

log = structlog.get_logger()


class Publisher(Protocol):
    """The part of `KafkaRuntime` the fetcher uses."""

    async def publish(self, family: str, message: Message, *, key: str) -> None: ...

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None: ...


@dataclass(frozen=True)
class SnapshotOutcome:
    tally: SnapshotTally
    seconds: float
    error: str | None = None


@dataclass
class SnapshotRunner:
    publisher: Publisher
    metrics: FetcherMetrics
    member_chunk: int
    batch_size: int = 500
    """Directory events published (and acknowledged) together."""
    progress_every: int = 5000
    """A `RunProgress` after each this many users."""
    clock: Callable[[], float] = time.monotonic

    async def run(self, request: SyncRequested, connector: Connector) -> SnapshotOutcome:
        assembler = SnapshotAssembler(request, member_chunk=self.member_chunk)
        began = self.clock()
        batch = _Batch(self, request)
        try:
            batch.pending.append(assembler.started())
            await batch.flush(0)  # consumers learn at once that a snapshot is under way
            error = await self._drain(connector, assembler, batch)
            if error is None:
                try:
                    batch.pending.append(assembler.completed())
                except SnapshotOrderError as exc:
                    error = f"connector broke the stream contract: {exc}"
            if error is None:
                await batch.flush(assembler.tally.users)
            await batch.settle()
        finally:
            await batch.abandon()  # only does something when an exception is on its way
        outcome = SnapshotOutcome(assembler.tally, self.clock() - began, error)
        if error is not None:
            await self._fail(request, connector, assembler, outcome)
        self._record(request, outcome)
        return outcome

    async def _drain(
        self, connector: Connector, assembler: SnapshotAssembler, batch: _Batch
    ) -> str | None:
        """Publish the stream as it arrives; the error that ended it early, if any."""
        next_progress = self.progress_every
        stream = connector.snapshot()
        try:
            while True:
                try:
                    item = await anext(stream)
                    batch.pending.extend(assembler.feed(item))
                except StopAsyncIteration:
                    return None
                except RosterError as exc:
                    return str(exc)
                except Exception as exc:  # a connector bug must fail the run visibly, too
                    log.exception("snapshot stream broke", directory=connector.directory)
                    return f"unexpected {type(exc).__name__}: {exc}"
                users = assembler.tally.users
                if len(batch.pending) >= self.batch_size:
                    await batch.flush(users)
                if users >= next_progress:
                    await batch.flush(users)
                    await batch.settle()
                    await self._progress(assembler.request, users)
                    next_progress += self.progress_every
        finally:
            await _close(stream)

    async def _progress(self, request: SyncRequested, done: int) -> None:
        progress = RunProgress(
            run_id=request.run_id, directory=request.directory, phase="fetching", done=done
        )
        await self.publisher.publish(topics.RUN_EVENTS, progress, key=request.run_id)

    async def _fail(
        self,
        request: SyncRequested,
        connector: Connector,
        assembler: SnapshotAssembler,
        outcome: SnapshotOutcome,
    ) -> None:
        message = (
            f"directory '{request.directory}' ({connector.kind}): snapshot failed after "
            f"{outcome.tally.users} users: {outcome.error}"
        )
        failed = assembler.failed(message)
        await self.publisher.publish(topics.DIRECTORY_EVENTS, failed, key=request.directory)
        run_failed = RunFailed(run_id=request.run_id, directory=request.directory, error=message)
        await self.publisher.publish(topics.RUN_EVENTS, run_failed, key=request.run_id)

    def _record(self, request: SyncRequested, outcome: SnapshotOutcome) -> None:
        t = outcome.tally
        status = "completed" if outcome.error is None else "failed"
        self.metrics.snapshots.labels(request.directory, status).inc()
        self.metrics.snapshot_seconds.labels(request.directory).observe(outcome.seconds)
        log.info(
            f"snapshot {status}",
            directory=request.directory,
            run_id=request.run_id,
            users=t.users,
            groups=t.groups,
            memberships=t.memberships,
            chunks=t.chunks,
            seconds=round(outcome.seconds, 3),
            error=outcome.error,
        )


class _Batch:
    """Directory events published together, one batch on the wire while the next fills.

    A batch is handed to Kafka only after the previous one was acknowledged, so the order
    of the snapshot's records is kept while fetching and publishing overlap.
    """

    def __init__(self, runner: SnapshotRunner, request: SyncRequested) -> None:
        self.runner = runner
        self.request = request
        self.pending: list[Message] = []
        self.users = 0
        self._inflight: asyncio.Task[None] | None = None

    async def flush(self, users: int) -> None:
        if self.pending:
            key = self.request.directory
            items = [(key, m) for m in self.pending]
            self.pending = []
            await self.settle()
            self._inflight = asyncio.create_task(
                self.runner.publisher.publish_many(topics.DIRECTORY_EVENTS, items)
            )
        if users > self.users:
            self.runner.metrics.users.labels(self.request.directory).inc(users - self.users)
            self.users = users

    async def settle(self) -> None:
        """Wait until everything flushed so far is acknowledged (raises a publish error)."""
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            await inflight

    async def abandon(self) -> None:
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            inflight.cancel()
            await asyncio.gather(inflight, return_exceptions=True)


async def _close(stream: AsyncIterator[SnapshotItem]) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()
