"""HTTP helpers every connector shares: finite retries, `Retry-After`, status classes.

Only the retry schedule lives here; which status is transient is each connector's own
one-function decision (it raises `TransientError` or `PermanentError`, this module obeys).
"""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import structlog

from roster.shared.delivery import RetryPolicy
from roster.shared.errors import TransientError

T = TypeVar("T")
log = structlog.get_logger()


@dataclass(frozen=True)
class RetrySettings:
    max_attempts: int = 6
    """HTTP attempts per request, the first included, before a transient error is final."""
    policy: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(base_delay=0.5, max_delay=20.0, jitter=0.25)
    )
    max_retry_after: float = 120.0
    """Longest `Retry-After` (seconds) worth waiting for inside one snapshot."""


def status_class(status: int | None) -> str:
    """Closed label set for metrics: `2xx` … `5xx`, or `error` when no response came."""
    if status is None or not 100 <= status <= 599:
        return "error"
    return f"{status // 100}xx"


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    retry: RetrySettings,
    sleep: Callable[[float], Awaitable[None]],
    max_attempts: int | None = None,
) -> T:
    """Run `attempt` until it succeeds, raises a permanent error, or attempts run out."""
    limit = max_attempts or retry.max_attempts
    number = 0
    while True:
        number += 1
        try:
            return await attempt()
        except TransientError as exc:
            if number >= limit:
                raise TransientError(
                    f"{exc} (gave up after {number} attempts)",
                    retry_after=exc.retry_after,
                    status=exc.status,
                ) from exc
            if exc.retry_after is not None and exc.retry_after > retry.max_retry_after:
                raise TransientError(
                    f"{exc} (asked to retry after {exc.retry_after:.0f}s, longer than the "
                    f"{retry.max_retry_after:.0f}s a snapshot waits)",
                    retry_after=exc.retry_after,
                    status=exc.status,
                ) from exc
            delay = retry.policy.delay(number, exc.retry_after)
            log.warning(
                "idp request retried", error=str(exc), attempt=number, delay=round(delay, 3)
            )
            await sleep(delay)
