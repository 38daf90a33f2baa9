"""The plug-in interface every IdP connector implements, and what the fetcher lends it.

A connector streams one full snapshot (users first, then each group with its member pages),
reads one user for sync at login, and tests its connection. It raises only
`roster.shared.errors` (transient or permanent); it never publishes and never logs secrets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from roster.fetcher.connectors.http import RetrySettings
from roster.fetcher.core.snapshot import SnapshotItem
from roster.shared.messages.directory import IdpUser

Sleep = Callable[[float], Awaitable[None]]


def _ignore(status_class: str) -> None:
    return None


@dataclass(frozen=True)
class ConnectorHooks:
    """What the composition root lends a connector; tests swap in fakes (clock, sleep)."""

    on_request: Callable[[str], None] = _ignore
    """Called once per IdP HTTP exchange with its status class: 2xx … 5xx, or `error`."""
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    """Seconds, for token expiry; only differences matter."""
    retry: RetrySettings = field(default_factory=RetrySettings)


class Connector(Protocol):
    """One IdP connection (a configured directory)."""

    @property
    def kind(self) -> str: ...

    @property
    def directory(self) -> str: ...

    def snapshot(self) -> AsyncIterator[SnapshotItem]:
        """Stream the whole directory (an async generator).

        Every `IdpUser` first, each once; then every group, parents before children, as
        consecutive `GroupMembers` pages ending with `last=True`. Any failure raises: a
        snapshot that ends without an error is complete.
        """
        ...

    async def fetch_user(self, subject: str) -> IdpUser | None:
        """One user by immutable IdP id, or None when the IdP does not know it."""
        ...

    async def check(self) -> None:
        """Test the connection (credentials, permissions); raise what is wrong."""
        ...
