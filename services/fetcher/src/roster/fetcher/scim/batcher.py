"""Accepted SCIM changes → delta runs: at most one run per directory every `batch_seconds`.

A write that was accepted calls `notify()`; the first notification starts a run at once
(or as soon as `batch_seconds` passed since the previous one), and every notification that
arrives meanwhile is folded into the next run: a burst of 500 requests makes a handful of
runs, each reading every change since the directory's cursor from the change stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger()


class MicroBatcher:
    def __init__(
        self,
        directory: str,
        start_run: Callable[[], Awaitable[str]],
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.directory = directory
        self.start_run = start_run
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.runs = 0
        self._wake = asyncio.Event()
        self._last = float("-inf")

    def notify(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """The background loop; survives failures to start a run (retried next interval)."""
        while True:
            await self._wake.wait()
            delay = self._last + self.interval - self.clock()
            if delay > 0:
                await self.sleep(delay)
            self._wake.clear()
            self._last = self.clock()
            try:
                run_id = await self.start_run()
            except Exception as exc:  # noqa: BLE001 - the loop must live; retried later
                log.warning("scim delta run not started", directory=self.directory, error=str(exc))
                self._wake.set()
                continue
            self.runs += 1
            log.debug("scim delta run requested", directory=self.directory, run_id=run_id)
