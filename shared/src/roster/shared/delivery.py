"""Retry and dead-letter policy for Kafka consumers.

FastStream's ack policies either skip a failed message or redeliver it at once, forever
(reference/python-ecosystem.md §1.3, §1.8). Here a record is retried in place with a finite,
jittered backoff (a transient error's `retry_after` is the floor); when it still fails, or
cannot be decoded, or fails permanently, it goes to the dead-letter topic with the error,
and the consumer moves on. Nothing is skipped silently and nothing hot-loops.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from roster.shared.errors import PermanentError, TransientError

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    """Attempts per record, the first included."""
    base_delay: float = 0.2
    """Seconds before the second attempt; doubles each time."""
    max_delay: float = 10.0
    jitter: float = 0.2
    """Share of each delay that is randomised."""

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        raw = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        raw *= 1 - self.jitter + 2 * self.jitter * random.random()
        return float(max(raw, retry_after or 0.0))


@dataclass
class Outcome:
    ok: bool
    attempts: int
    error: BaseException | None = None
    permanent: bool = False


@dataclass
class Retrier:
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Sleep = asyncio.sleep

    async def run(self, work: Callable[[], Awaitable[Any]]) -> Outcome:
        attempt = 0
        while True:
            attempt += 1
            try:
                await work()
                return Outcome(ok=True, attempts=attempt)
            except PermanentError as exc:
                return Outcome(ok=False, attempts=attempt, error=exc, permanent=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried, then dead-lettered
                if attempt >= self.policy.max_attempts:
                    return Outcome(ok=False, attempts=attempt, error=exc)
                retry_after = exc.retry_after if isinstance(exc, TransientError) else None
                await self.sleep(self.policy.delay(attempt, retry_after))
