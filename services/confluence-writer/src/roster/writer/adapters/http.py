"""The writer's one door to Confluence: auth, dry run, rate limit, retries, status → error.

Dry run is enforced here (nothing but GET leaves the process); every attempt waits for the
shared rate limit; 5xx, timeouts and dropped connections are retried a finite number of times
with jittered backoff, 429s pause all replicas. `classify` is the only place an HTTP status
becomes an error. Credentials live in one header value and are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import httpx
import structlog

from roster.shared.config import ConfluenceAuth
from roster.shared.delivery import RetryPolicy
from roster.shared.errors import (
    ConflictError,
    NotFoundError,
    PermanentError,
    RejectedError,
    RosterError,
    TransientError,
)
from roster.writer.adapters.clock import Clock
from roster.writer.adapters.wire import Page
from roster.writer.core.pacing import RETRY_AFTER, retry_after
from roster.writer.core.results import DRY_RUN
from roster.writer.metrics import WriterMetrics
from roster.writer.settings import WriterOptions

log = structlog.get_logger()

PAGE_LIMIT = 200
"""The server's cap on `limit` (reference §1; larger values are silently reduced)."""
MAX_PAGES = 100_000
_TAGS = re.compile(r"<[^>]+>")


class DryRunError(PermanentError):
    """A write was attempted while `confluence.dry_run` is on; nothing was sent."""


class Pacer(Protocol):
    async def acquire(self) -> float: ...

    async def pause(self, seconds: float | None) -> None: ...

    async def observe(self, headers: Mapping[str, str], status: int | None) -> None: ...


class Unpaced:
    """No rate limit (anonymous requests, or tests of other parts)."""

    async def acquire(self) -> float:
        return 0.0

    async def pause(self, seconds: float | None) -> None:
        return None

    async def observe(self, headers: Mapping[str, str], status: int | None) -> None:
        return None


def classify(
    status: int | None, message: str, *, retry_after: float | None = None
) -> RosterError | None:
    """HTTP status (None: no response at all) → the error taxonomy; None for success."""
    if status is not None and status < 400:
        return None
    if status is None or status in (408, 429) or status >= 500:
        return TransientError(message, retry_after=retry_after, status=status)
    if status == 404:
        return NotFoundError(message, status=status)
    if status == 409:
        return ConflictError(message, status=status)
    if status in (400, 402, 403):
        return RejectedError(message, status=status)
    return PermanentError(message, status=status)


def error_message(response: httpx.Response) -> str:
    """Confluence's own words: `message` of its error JSON, else the page text, shortened."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"]:
        return str(data["message"])
    text = " ".join(_TAGS.sub(" ", response.text).split())
    return text[:300] or f"HTTP {response.status_code}"


def auth_header(auth: ConfluenceAuth) -> str:
    """`Bearer <PAT>` when a token is configured, else Basic; reveals the secret once."""
    if auth.token is not None:
        return f"Bearer {auth.token.reveal()}"
    assert auth.username is not None
    assert auth.password is not None
    raw = f"{auth.username}:{auth.password.reveal()}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class ConfluenceHttp:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        authorization: str,
        options: WriterOptions,
        pacer: Pacer,
        clock: Clock,
        metrics: WriterMetrics,
    ) -> None:
        self._client = client
        self._headers = {"Authorization": authorization, "Accept": "application/json"}
        self._options = options
        self._pacer = pacer
        self._clock = clock
        self._metrics = metrics
        self._in_flight = asyncio.Semaphore(options.concurrency)
        """Bounds this replica's concurrent requests (commands, snapshot reads and probes)."""
        self._policy = RetryPolicy(
            max_attempts=options.max_attempts,
            base_delay=options.backoff_base_seconds,
            max_delay=options.backoff_max_seconds,
        )

    @property
    def dry_run(self) -> bool:
        return self._options.dry_run

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        anonymous: bool = False,
    ) -> httpx.Response:
        """Send until success or a final error; raises the classified error."""
        if self._options.dry_run and method != "GET":
            log.info("dry run refused write", method=method, path=path)
            raise DryRunError(DRY_RUN)
        failures = limited = 0
        while True:
            error = await self._attempt(method, path, params=params, json=json, anon=anonymous)
            if isinstance(error, httpx.Response):
                return error
            if not isinstance(error, TransientError):
                raise error
            if error.status == 429:
                limited += 1
                if limited > self._options.max_429:
                    raise error
                await self._pacer.pause(error.retry_after)
                continue
            failures += 1
            if failures >= self._options.max_attempts:
                log.warning(
                    "confluence request gave up", method=method, path=path, error=str(error)
                )
                raise error
            await self._clock.sleep(self._policy.delay(failures, error.retry_after))

    async def _attempt(
        self, method: str, path: str, *, params: Any, json: Any, anon: bool
    ) -> httpx.Response | RosterError:
        pacer = Unpaced() if anon else self._pacer
        await pacer.acquire()
        headers = {"Accept": "application/json"} if anon else self._headers
        try:
            async with self._in_flight:
                response = await self._client.request(
                    method, path, params=params, json=json, headers=headers
                )
        except httpx.TransportError as exc:
            self._metrics.request(method, None)
            found = classify(None, f"{method} {path}: {type(exc).__name__}: {exc}".strip())
            assert found is not None
            return found
        self._metrics.request(method, response.status_code)
        await pacer.observe(response.headers, response.status_code)
        wait = retry_after(response.headers.get(RETRY_AFTER), now=self._clock.now())
        error = classify(response.status_code, error_message(response), retry_after=wait)
        return response if error is None else error

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return (await self.request("GET", path, params=params)).json()

    async def pages(
        self, path: str, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a list endpoint: `start += size` until `_links.next` is gone."""
        start = 0
        for _ in range(MAX_PAGES):
            query = {**(params or {}), "start": start, "limit": PAGE_LIMIT}
            page = Page.model_validate(await self.get_json(path, query))
            yield page.results
            if page.links.next is None or page.size == 0:
                return
            start += page.size
        raise TransientError(f"{path}: more than {MAX_PAGES} pages")
