"""Data Center rate limiting: a token bucket per user, as in reference §4.

Each authenticated request costs one token; a bucket refills `fill_rate` tokens every
`interval_seconds` up to `max`. Time comes from an injected clock so tests never sleep.
It only decides and names headers; the ASGI guard in `pipeline` applies the decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class RateLimitSettings(BaseModel):
    """The admin screen's "Limit requests" values; off by default like the product."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    fill_rate: float = Field(default=10.0, gt=0)
    """Tokens added per interval ("Requests allowed")."""
    interval_seconds: float = Field(default=1.0, gt=0)
    max: int = Field(default=100, ge=1)
    """Bucket capacity ("Max requests"), reported as `X-RateLimit-Limit`."""


@dataclass(slots=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: int
    """Whole seconds until a token is available; 0 while tokens remain."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


def _number(value: float) -> bytes:
    return f"{value:g}".encode()


class RateLimiter:
    def __init__(self, settings: RateLimitSettings, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self.settings = settings

    @property
    def settings(self) -> RateLimitSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: RateLimitSettings) -> None:
        # New limits start every user with a full bucket, as a fresh node would.
        self._settings = settings
        self._per_second = settings.fill_rate / settings.interval_seconds
        self._static = [
            (b"x-ratelimit-limit", _number(settings.max)),
            (b"x-ratelimit-interval-seconds", _number(settings.interval_seconds)),
            (b"x-ratelimit-fillrate", _number(settings.fill_rate)),
        ]
        self._buckets.clear()

    @property
    def enabled(self) -> bool:
        return self._settings.enabled

    def take(self, user: str) -> Decision:
        now = self._clock()
        bucket = self._buckets.get(user)
        if bucket is None:
            bucket = self._buckets[user] = _Bucket(float(self._settings.max), now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(
                float(self._settings.max), bucket.tokens + elapsed * self._per_second
            )
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Decision(True, int(bucket.tokens), 0)
        wait = math.ceil((1.0 - bucket.tokens) / self._per_second)
        return Decision(False, 0, max(1, wait))

    def headers(self, decision: Decision) -> list[tuple[bytes, bytes]]:
        return [
            *self._static,
            (b"x-ratelimit-remaining", str(decision.remaining).encode()),
            (b"retry-after", str(decision.retry_after).encode()),
        ]
