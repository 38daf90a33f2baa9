"""Shared connector HTTP helpers: Retry-After parsing, the finite retry loop, status classes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fetcher_support import FakeSleep

from roster.fetcher.connectors.http import (
    RetrySettings,
    retry_after_seconds,
    status_class,
    with_retries,
)
from roster.shared.delivery import RetryPolicy
from roster.shared.errors import PermanentError, TransientError

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("Sun, 01 Jun 2025 12:00:30 GMT", 30.0),
        ("Sun, 01 Jun 2025 11:00:00 GMT", 0.0),
        ("soon", None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (200, "2xx"),
        (204, "2xx"),
        (302, "3xx"),
        (404, "4xx"),
        (503, "5xx"),
        (None, "error"),
        (0, "error"),
    ],
)
def test_status_class(status: int | None, label: str) -> None:
    assert status_class(status) == label


async def test_transient_errors_are_retried_then_succeed() -> None:
    sleep = FakeSleep()
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TransientError("busy", retry_after=4.0 if calls == 2 else None)
        return "ok"

    retry = RetrySettings(max_attempts=5, policy=RetryPolicy(base_delay=1.0, jitter=0.0))
    assert await with_retries(flaky, retry=retry, sleep=sleep) == "ok"
    assert sleep.delays == [1.0, 4.0], "second delay: Retry-After 4 s beats the 2 s backoff"


async def test_permanent_errors_are_not_retried() -> None:
    sleep = FakeSleep()

    async def denied() -> None:
        raise PermanentError("no")

    with pytest.raises(PermanentError):
        await with_retries(denied, retry=RetrySettings(), sleep=sleep)
    assert sleep.delays == []


async def test_attempts_are_finite_and_the_message_says_so() -> None:
    sleep = FakeSleep()

    async def down() -> None:
        raise TransientError("Keycloak answered 503", status=503)

    with pytest.raises(TransientError, match="gave up after 3 attempts") as caught:
        await with_retries(down, retry=RetrySettings(max_attempts=3), sleep=sleep)
    assert caught.value.status == 503
    assert len(sleep.delays) == 2
