"""Time as the writer sees it: wall-clock seconds and an awaitable sleep, injectable.

The rate limiter, backoff and long-task polling take a `Clock`, so tests pass a fake one and
spend no wall time. The wall clock (not monotonic) is used because replicas on different
hosts compare times through the shared Redis bucket.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
