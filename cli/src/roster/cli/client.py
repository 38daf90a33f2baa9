"""How the CLI talks to the scheduler's admin API: base URL, bearer token, error lines.

Decides what a failed call prints: one line on stderr and exit 1. A 401 tells to set
`--token` / ROSTER_API_TOKEN, a 403 that the token's role is not enough; any other error
shows the status and the scheduler's `detail`. The token itself is never printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)
TIMEOUT = 30.0


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` on stderr; returns the Exit to raise."""
    err.print(f"[red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else json.dumps(detail)
    return json.dumps(body)


def explain(response: httpx.Response) -> str:
    """The one-line message of an error answer."""
    detail = _detail(response)
    if response.status_code == 401:
        return f"401 unauthorized ({detail}): set --token or ROSTER_API_TOKEN to an API token"
    if response.status_code == 403:
        return f"403 forbidden: the token's role is not enough for this ({detail})"
    return f"{response.status_code} {detail}"


@dataclass(frozen=True)
class Api:
    """The scheduler's admin API at `url`, called with `token` when one is given."""

    url: str
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _url(self, path: str) -> str:
        return f"{self.url.rstrip('/')}{path}"

    def response(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer to one call; a transport error or an error status exits."""
        try:
            response = httpx.request(
                method, self._url(path), headers=self.headers, timeout=TIMEOUT, **kwargs
            )
        except httpx.HTTPError as exc:
            raise fail(f"cannot reach the scheduler at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise fail(explain(response))
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON answer of one call."""
        return self.response(method, path, **kwargs).json()

    @contextmanager
    def stream(self, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed GET; the body is read by the caller (error answers exit)."""
        try:
            with httpx.stream(
                "GET", self._url(path), headers=self.headers, timeout=TIMEOUT, **kwargs
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise fail(explain(response))
                yield response
        except httpx.HTTPError as exc:
            raise fail(f"cannot reach the scheduler at {self.url}: {exc}") from exc

    def copy_to_stdout(self, path: str) -> None:
        """Write a streamed body to stdout byte for byte (never decoded and re-encoded)."""
        with self.stream(path) as response:
            out = sys.stdout.buffer
            for chunk in response.iter_bytes():
                out.write(chunk)
            out.flush()
