"""Pacing arithmetic: Confluence's rate-limit headers → a pace, Retry-After, and AIMD steps.

Confluence DC sends `X-RateLimit-FillRate` tokens per `X-RateLimit-Interval-Seconds` into a
bucket of `X-RateLimit-Limit` (reference §4). The writer paces slightly under that (a safety
share) so network jitter does not turn into 429s. Without headers it probes with AIMD.
No clock and no Redis here: callers pass the time and apply the results.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

FILL_RATE = "x-ratelimit-fillrate"
INTERVAL = "x-ratelimit-interval-seconds"
LIMIT = "x-ratelimit-limit"
REMAINING = "x-ratelimit-remaining"
RETRY_AFTER = "retry-after"


@dataclass(frozen=True)
class Pace:
    rate: float
    """Requests per second for all replicas together; 0 means unlimited."""
    burst: float
    """Bucket capacity in requests."""


@dataclass(frozen=True)
class ServerPace:
    pace: Pace
    remaining: float | None
    """Tokens the server says are left (approximate), already reduced by the safety margin."""


def _number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def server_pace(headers: Mapping[str, str], *, safety: float) -> ServerPace | None:
    """The pace the server asks for, or None when it sent no (usable) rate-limit headers."""
    fill, interval, limit = (_number(headers, h) for h in (FILL_RATE, INTERVAL, LIMIT))
    if not fill or not interval or not limit:
        return None
    margin = max(1.0, limit * (1.0 - safety))
    burst = max(1.0, limit - margin)
    remaining = _number(headers, REMAINING)
    left = None if remaining is None else max(0.0, min(burst, remaining - margin))
    return ServerPace(Pace(rate=fill / interval * safety, burst=burst), left)


def retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); `now` is epoch."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - now
        except (TypeError, ValueError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def decrease(current: float, *, observed: float, floor: float) -> float:
    """Multiplicative decrease after a 429 without headers; `observed` is the recent req/s."""
    base = current if current > 0 else observed
    return max(floor, base / 2.0)


def increase(current: float, *, step: float, ceiling: float | None = None) -> float:
    """Additive increase after a quiet second at `current` (which must be a real, >0 rate)."""
    raised = current + step
    return raised if ceiling is None else min(ceiling, raised)
