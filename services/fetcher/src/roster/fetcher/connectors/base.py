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
from roster.fetcher.core.changes import ChangeSet
from roster.fetcher.core.snapshot import SnapshotItem
from roster.shared.messages.directory import IdpGroup, IdpUser

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


class IncrementalConnector(Connector, Protocol):
    """A connector that can also read what changed since a cursor (delta sync).

    The fetcher asks for `start_cursor()` just before a full snapshot begins and stores it
    once the snapshot completed; a delta sync calls `changes(cursor)` and stores the returned
    cursor after the events are published. `changes` raises `CursorExpired` when the IdP
    refuses the cursor; the fetcher then runs a full snapshot instead.
    """

    async def start_cursor(self) -> str:
        """A cursor meaning "now": changes after this moment are returned by `changes`."""
        ...

    async def changes(self, cursor: str) -> ChangeSet:
        """Every change since `cursor` (all pages read), and the cursor to resume from."""
        ...

    async def user_groups(self, subject: str) -> list[IdpGroup]:
        """The groups one user is a direct member of (for a single-user sync)."""
        ...


def is_incremental(connector: Connector) -> bool:
    return all(hasattr(connector, name) for name in ("start_cursor", "changes", "user_groups"))
