"""Run history in Redis: what the sink writes and the admin API reads.

A run is a hash `run:{id}` (status, directory, timings, counts, summary), its per-command
results a hash `run:{id}:results` keyed by command id (first result wins, so a replayed
result never counts twice), and `runs:index` orders runs by start time. The directory's
one-sync-at-a-time lock is `lock:sync:{directory}`.
"""

from __future__ import annotations

import json
import time
from typing import Any, cast

import redis.asyncio as redis

from roster.shared.messages.results import CommandFailed, CommandResult, CommandSucceeded
from roster.shared.redisdb import Keys

LOCK_SECONDS = 6 * 3600
FINAL = ("succeeded", "failed", "dry-run", "rejected")

# Marks a run completed exactly once, when its planned command count is known and reached.
_COMPLETE = """
local run = KEYS[1]
local results = KEYS[2]
if redis.call('HEXISTS', run, 'completed_at') == 1 then return 0 end
local commands = redis.call('HGET', run, 'commands')
if not commands then return 0 end
if redis.call('HLEN', results) < tonumber(commands) then return 0 end
local failed = tonumber(redis.call('HGET', run, 'failed') or '0')
local status = 'succeeded'
if failed > 0 then status = 'failed' end
if redis.call('HGET', run, 'dry_run') == '1' then status = 'dry-run' end
redis.call('HSET', run, 'completed_at', ARGV[1], 'status', status)
return 1
"""


class RunStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self._r = client
        self._k = keys
        self._complete = client.register_script(_COMPLETE)

    def _run(self, run_id: str) -> str:
        return self._k("run", run_id)

    def _results(self, run_id: str) -> str:
        return self._k("run", run_id, "results")

    async def lock(self, directory: str, run_id: str) -> str | None:
        """Take the directory's sync lock; return the run holding it when taken already."""
        key = self._k("lock", "sync", directory)
        if await self._r.set(key, run_id, nx=True, ex=LOCK_SECONDS):
            return None
        holder = await self._r.get(key)
        return str(holder) if holder else None

    async def unlock(self, directory: str, run_id: str) -> None:
        key = self._k("lock", "sync", directory)
        if await self._r.get(key) == run_id:
            await self._r.delete(key)

    async def started(self, run_id: str, fields: dict[str, Any]) -> None:
        now = time.time()
        mapping: dict[Any, Any] = {k: _flat(v) for k, v in fields.items()}
        mapping.setdefault("status", "running")
        await self._r.hsetnx(self._run(run_id), "started_at", now)
        await self._r.hset(self._run(run_id), mapping=mapping)
        await self._r.zadd(self._k("runs", "index"), {run_id: now}, nx=True)

    async def update(self, run_id: str, fields: dict[str, Any]) -> None:
        mapping: dict[Any, Any] = {k: _flat(v) for k, v in fields.items()}
        await self._r.hset(self._run(run_id), mapping=mapping)

    async def decide(self, run_id: str, decision: str, by: str) -> bool:
        """Record the first decision (approved / rejected) on a held run; False if decided."""
        if not await self._r.hsetnx(self._run(run_id), "decision", decision):
            return False
        await self._r.hset(self._run(run_id), mapping={"decided_by": by, "decided_at": time.time()})
        return True

    async def record_result(self, result: CommandResult) -> None:
        run = self._run(result.run_id)
        added = await self._r.hsetnx(
            self._results(result.run_id), result.command_id, result.model_dump_json()
        )
        if added:
            if isinstance(result, CommandFailed):
                await self._r.hincrby(run, "failed", 1)
            elif isinstance(result, CommandSucceeded):
                await self._r.hincrby(run, "noop" if result.noop else "applied", 1)

    async def try_complete(self, run_id: str) -> bool:
        keys = [self._run(run_id), self._results(run_id)]
        return bool(await self._complete(keys=keys, args=[time.time()]))

    async def get(self, run_id: str) -> dict[str, Any] | None:
        raw = cast(dict[str, str], await self._r.hgetall(self._run(run_id)))
        if not raw:
            return None
        run: dict[str, Any] = {"run_id": run_id}
        for key, value in raw.items():
            run[key] = _unflat(key, value)
        run["done"] = await self._r.hlen(self._results(run_id))
        return run

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        ids = cast(list[str], await self._r.zrevrange(self._k("runs", "index"), 0, limit - 1))
        runs = [await self.get(i) for i in ids]
        return [r for r in runs if r is not None]

    async def results(self, run_id: str) -> list[dict[str, Any]]:
        raw = await self._r.hvals(self._results(run_id))
        return [json.loads(v) for v in raw]


def _flat(value: Any) -> str | int | float:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return value
    return json.dumps(value)


_NUMBERS = {"started_at", "completed_at", "planned_at", "commands", "applied", "noop", "failed"}


def _unflat(key: str, value: str) -> Any:
    if key in _NUMBERS:
        number = float(value)
        return int(number) if number.is_integer() and key != "started_at" else number
    if key == "dry_run":
        return value == "1"
    if key == "summary":
        return json.loads(value)
    return value
