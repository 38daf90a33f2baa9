"""HTTP helpers every connector shares: sending, token answers, retries, status classes.

Only the retry schedule and transport failures live here; which status is transient is each
connector's own one-function decision (it raises `TransientError` or `PermanentError`).
"""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import structlog

from roster.shared.delivery import RetryPolicy
from roster.shared.errors import ConfigurationError, PermanentError, TransientError

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


@dataclass(frozen=True)
class Peer:
    """Who a connector talks to, for its error messages."""

    name: str
    """As people call it: "Keycloak", "Okta", "Microsoft Graph", "Google"."""
    url_setting: str
    """The configuration field(s) holding its URL, named when a URL is not http(s)."""
    where: str | None = None
    """Base URL added to "cannot reach" messages."""


async def send(
    http: httpx.AsyncClient,
    peer: Peer,
    on_request: Callable[[str], None],
    method: str,
    url: str,
    *,
    what: str,
    **kwargs: Any,
) -> httpx.Response:
    """One HTTP exchange; no answer becomes `TransientError`, a bad URL `ConfigurationError`.

    `what` names the request in messages ("GET /users"); `on_request` gets the status class.
    """
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.UnsupportedProtocol as exc:
        on_request("error")
        raise ConfigurationError(f"{peer.url_setting}: {url!r} is not an http(s) URL") from exc
    except httpx.TimeoutException as exc:
        on_request("error")
        raise TransientError(
            f"{peer.name} did not answer {what} in time ({type(exc).__name__})"
        ) from exc
    except httpx.TransportError as exc:
        on_request("error")
        at = f" at {peer.where}" if peer.where else ""
        raise TransientError(
            f"cannot reach {peer.name}{at} for {what}: {type(exc).__name__}"
        ) from exc
    on_request(status_class(response.status_code))
    return response


def access_token(
    response: httpx.Response, peer: Peer, *, default_lifetime: float
) -> tuple[str, float]:
    """`access_token` and `expires_in` (seconds) of an OAuth token answer."""
    problem = f"{peer.name} token endpoint answered without access_token"
    try:
        body = response.json()
        token = body["access_token"]
        lifetime = float(body.get("expires_in", default_lifetime))
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(problem) from exc
    if not isinstance(token, str) or not token:
        raise PermanentError(problem)
    return token, lifetime
