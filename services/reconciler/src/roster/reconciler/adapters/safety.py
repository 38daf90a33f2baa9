"""Redis facts of the safety net, per directory; decides nothing (`core.safety` does).

`rec:safety:{d}:last-good` (hash users, groups, run_id, at): the last published full
snapshot's size; `rec:safety:{d}:window` (zset command id → epoch s): published removals,
trimmed as read. Managed users: the size of the link table `links:{d}`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import redis.asyncio as redis

from roster.reconciler.adapters.snapshots import SnapshotCounts
from roster.shared.messages.commands import WriteCommand
from roster.shared.redisdb import Keys

REMOVALS = frozenset({"DeactivateUser", "DeleteUser"})


class SafetyStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def _last_good(self, directory: str) -> str:
        return self.keys("rec", "safety", directory, "last-good")

    def _window(self, directory: str) -> str:
        return self.keys("rec", "safety", directory, "window")

    async def managed(self, directory: str) -> int:
        return int(await self.redis.hlen(self.keys("links", directory)))

    async def last_good_users(self, directory: str) -> int | None:
        value = await self.redis.hget(self._last_good(directory), "users")
        return None if value is None else int(value)

    async def set_last_good(
        self, directory: str, run_id: str, counts: SnapshotCounts, at: datetime
    ) -> None:
        mapping = {
            "users": counts.users,
            "groups": counts.groups,
            "run_id": run_id,
            "at": at.isoformat(),
        }
        await self.redis.hset(self._last_good(directory), mapping=mapping)  # type: ignore[arg-type]

    async def window_removals(self, directory: str, now: datetime, minutes: int) -> int:
        """Removals published in the last `minutes`; older entries are dropped."""
        key = self._window(directory)
        since = now.timestamp() - minutes * 60
        pipe = self.redis.pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", f"({since}")
        pipe.zcount(key, since, "+inf")
        _, count = await pipe.execute()
        return int(count)

    async def add_removals(
        self, directory: str, commands: Iterable[WriteCommand], now: datetime
    ) -> None:
        """Count the published removals (a replay re-adds the same command ids: no double)."""
        members = {c.command_id: now.timestamp() for c in commands if c.type in REMOVALS}
        if members:
            await self.redis.zadd(self._window(directory), members, nx=True)
