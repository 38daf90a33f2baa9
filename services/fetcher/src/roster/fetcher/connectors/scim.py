"""The `scim` directory as a connector: what Entra / Okta pushed, read back from Redis.

`snapshot()` streams the stored resources, `changes(cursor)` reads the change stream after
the cursor (a stream id; `CursorExpired` once trimmed), `fetch_user` / `user_groups` read one
user. The store is lent by `scim.plug` when the app is composed; before that calls raise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.core.changes import Change, ChangeSet, CursorExpired
from roster.fetcher.core.snapshot import GroupMembers, SnapshotItem
from roster.fetcher.scim.events import group_view, members, to_change, user_view
from roster.fetcher.scim.schemas import GROUPS, USERS
from roster.fetcher.scim.store import ScimStore
from roster.shared.config import DirectorySettings
from roster.shared.errors import ConfigurationError
from roster.shared.messages.directory import IdpGroup, IdpUser

MEMBER_PAGE = 1000


class ScimConnector:
    kind = "scim"

    def __init__(
        self,
        directory: DirectorySettings,
        http: httpx.AsyncClient | None = None,
        hooks: ConnectorHooks | None = None,
    ) -> None:
        if directory.scim is None:
            raise ConfigurationError(f"directories.{directory.id}.scim: section missing")
        self.directory = directory.id
        self._store: ScimStore | None = None

    def bind(self, store: ScimStore) -> None:
        self._store = store

    @property
    def store(self) -> ScimStore:
        if self._store is None:
            raise ConfigurationError(
                f"directories.{self.directory}: the SCIM store is not attached (no SCIM endpoint)"
            )
        return self._store

    async def snapshot(self) -> AsyncIterator[SnapshotItem]:
        users = await self.store.all(USERS)
        ids = {u["id"] for u in users}
        for user in users:
            yield user_view(user)
        for group in await self.store.all(GROUPS):
            subjects = [m for m in members(group) if m in ids]
            view = group_view(group)
            if not subjects:
                yield GroupMembers(view, (), last=True)
            for start in range(0, len(subjects), MEMBER_PAGE):
                chunk = tuple(subjects[start : start + MEMBER_PAGE])
                yield GroupMembers(view, chunk, last=start + MEMBER_PAGE >= len(subjects))

    async def fetch_user(self, subject: str) -> IdpUser | None:
        stored = await self.store.get(USERS, subject)
        return None if stored is None else user_view(stored.resource)

    async def check(self) -> None:
        await self.store.ping()

    async def start_cursor(self) -> str:
        return await self.store.last_change()

    async def changes(self, cursor: str) -> ChangeSet:
        if await self.store.trimmed_past(cursor):
            raise CursorExpired(f"SCIM changes after {cursor} were trimmed from the stream")
        out: list[Change] = []
        last = cursor
        async for entry_id, items in self.store.changes_since(cursor):
            out.extend(to_change(item) for item in items)
            last = entry_id
        return ChangeSet(tuple(out), last)

    async def user_groups(self, subject: str) -> list[IdpGroup]:
        return [group_view(g) for g in await self.store.all(GROUPS) if subject in members(g)]
