"""The writer's memory of commands in Redis: finished ones and ones being written.

`writer:done:{id}` holds the success result (SET NX, a week by default): a replay is reported
as a no-op. `writer:inflight:{id}` is set before the first write and cleared once the result
is known: finding it set means an earlier attempt stopped mid-write (a crash, a timeout), so
the executor must read Confluence before writing again. It stores, it does not decide.
"""

from __future__ import annotations

import redis.asyncio as redis

from roster.shared.messages.results import CommandSucceeded
from roster.shared.redisdb import Keys


class Ledger:
    def __init__(
        self, client: redis.Redis, keys: Keys, *, done_ttl: int, inflight_ttl: int
    ) -> None:
        self._redis = client
        self._keys = keys
        self._done_ttl = done_ttl
        self._inflight_ttl = inflight_ttl

    def done_key(self, command_id: str) -> str:
        return self._keys("writer", "done", command_id)

    def inflight_key(self, command_id: str) -> str:
        return self._keys("writer", "inflight", command_id)

    async def done(self, command_id: str) -> CommandSucceeded | None:
        raw = await self._redis.get(self.done_key(command_id))
        return None if raw is None else CommandSucceeded.model_validate_json(raw)

    async def begin(self, command_id: str) -> bool:
        """Mark the command in flight; False when it already was (a predecessor stopped)."""
        created = await self._redis.set(
            self.inflight_key(command_id), "1", nx=True, ex=self._inflight_ttl
        )
        return bool(created)

    async def finish(self, result: CommandSucceeded) -> None:
        """Remember a success for replays, then clear the in-flight mark."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(
                self.done_key(result.command_id),
                result.model_dump_json(),
                nx=True,
                ex=self._done_ttl,
            )
            pipe.delete(self.inflight_key(result.command_id))
            await pipe.execute()

    async def abandon(self, command_id: str) -> None:
        """Nothing was written (a permanent refusal): the next attempt need not read first."""
        await self._redis.delete(self.inflight_key(command_id))
