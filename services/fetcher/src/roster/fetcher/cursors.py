"""Delta cursors in Redis: `fetcher:cursor:{directory}`, one opaque string per directory.

Written only after the events it stands for were published (a full snapshot's start cursor,
a delta's resume cursor), so a crash between publishing and storing repeats changes instead
of losing them. Never expires: losing it only costs a full snapshot.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as redis

from roster.shared.redisdb import Keys


class CursorStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def key(self, directory: str) -> str:
        return self.keys("fetcher", "cursor", directory)

    async def get(self, directory: str) -> str | None:
        value = await self.redis.get(self.key(directory))
        return None if value is None else cast(str, value)

    async def put(self, directory: str, cursor: str) -> None:
        await self.redis.set(self.key(directory), cursor)

    async def drop(self, directory: str) -> None:
        await self.redis.delete(self.key(directory))
