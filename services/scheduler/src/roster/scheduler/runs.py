"""Run history in Redis: what the sink writes and the admin API reads.

A run is a hash `run:{id}` (status, directory, timings, counts, summary), its per-command
results a hash `run:{id}:results` keyed by command id (first result wins, so a replayed
result never counts twice), and `runs:index` orders runs by start time. The directory's
one-sync-at-a-time lock is `lock:sync:{directory}`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
        found = await self._many([run_id])
        return found[0] if found else None

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return await self.find(RunFilter(limit=limit))

    async def find(self, query: RunFilter) -> list[dict[str, Any]]:
        """Runs matching `query`, newest first; reads the index a page at a time and stops
        at `limit` matches (history is bounded by retention, so a miss scans at most that)."""
        found: list[dict[str, Any]] = []
        index, start, page = self._k("runs", "index"), 0, max(query.limit, 100)
        low: float | str = query.since if query.since is not None else "-inf"
        while len(found) < query.limit:
            ids = cast(
                list[str],
                await self._r.zrevrangebyscore(index, "+inf", low, start=start, num=page),
            )
            if not ids:
                break
            start += len(ids)
            for run in await self._many(ids):
                if query.matches(run):
                    found.append(run)
        return found[: query.limit]

    async def _many(self, ids: list[str]) -> list[dict[str, Any]]:
        async with self._r.pipeline(transaction=False) as pipe:
            for run_id in ids:
                pipe.hgetall(self._run(run_id))
                pipe.hlen(self._results(run_id))
            replies = await pipe.execute()
        runs = []
        for run_id, raw, done in zip(ids, replies[::2], replies[1::2], strict=True):
            if raw:
                runs.append(_run_view(run_id, raw, done))
        return runs

    async def results(self, run_id: str) -> list[dict[str, Any]]:
        return [json.loads(chunk) for chunk in await self._r.hvals(self._results(run_id))]

    async def raw_results(self, run_id: str, chunk: int = 2000) -> AsyncIterator[list[str]]:
        """The run's results as stored JSON texts, `chunk` at a time (HSCAN: Redis is never
        asked for the whole hash at once, so a 100,000-result run streams in bounded memory).
        HSCAN returns every field present for the whole scan, possibly more than once while
        Redis rehashes; fields already sent are skipped, so each result comes once."""
        cursor: int = 0
        sent: set[str] = set()
        while True:
            cursor, found = await self._r.hscan(self._results(run_id), cursor, count=chunk)
            values = cast(dict[str, str], found)
            fresh = [text for field, text in values.items() if field not in sent]
            sent.update(values)
            if fresh:
                yield fresh
            if cursor == 0:
                return

    async def page_of_results(self, run_id: str, query: ResultFilter) -> tuple[int, list[Any]]:
        """(matching count, one page) of a run's results, sorted by user then operation."""
        rows = []
        async for texts in self.raw_results(run_id):
            for text in texts:
                result = json.loads(text)
                if query.matches(result):
                    rows.append(result)
        rows.sort(key=_result_order)
        return len(rows), rows[query.offset : query.offset + query.limit]

    async def expire(self, *, max_age_days: int, max_runs: int, now: float | None = None) -> int:
        """Remove runs older than `max_age_days` and all but the newest `max_runs`, with
        their results; a run still holding its directory's lock is kept. Returns the count."""
        index = self._k("runs", "index")
        cutoff = (now if now is not None else time.time()) - max_age_days * 86400
        old = cast(list[str], await self._r.zrangebyscore(index, "-inf", f"({cutoff}"))
        extra = cast(list[str], await self._r.zrevrange(index, max_runs, -1))
        removed = 0
        for run_id in dict.fromkeys(old + extra):
            fields = await self._r.hmget(self._run(run_id), ["status", "directory"])
            status, directory = cast(list[str | None], fields)
            lock = self._k("lock", "sync", directory or "")
            if status in ("running", "held") and await self._r.get(lock) == run_id:
                continue
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.zrem(index, run_id)
                pipe.unlink(self._run(run_id), self._results(run_id))
                await pipe.execute()
            removed += 1
        return removed


@dataclass(frozen=True)
class RunFilter:
    directory: str | None = None
    status: str | None = None
    trigger: str | None = None
    since: float | None = None
    """Only runs started at or after this time (epoch seconds)."""
    limit: int = 50

    def matches(self, run: dict[str, Any]) -> bool:
        return all(
            wanted is None or run.get(field) == wanted
            for field, wanted in (
                ("directory", self.directory),
                ("status", self.status),
                ("trigger", self.trigger),
            )
        )


def result_status(result: dict[str, Any]) -> str:
    """failed, noop (nothing had to change) or applied."""
    if result.get("type") == "CommandFailed":
        return "failed"
    return "noop" if result.get("noop") else "applied"


@dataclass(frozen=True)
class ResultFilter:
    status: str | None = None
    """applied, noop or failed."""
    operation: str | None = None
    user: str | None = None
    """Case-insensitive substring of the username."""
    limit: int = 100
    offset: int = 0

    def matches(self, result: dict[str, Any]) -> bool:
        if self.status is not None and result_status(result) != self.status:
            return False
        if self.operation is not None and result.get("operation") != self.operation:
            return False
        needle = (self.user or "").strip().lower()
        return not needle or needle in (result.get("username") or "").lower()


def _result_order(result: dict[str, Any]) -> tuple[str, str, str]:
    return (result.get("username") or "", result.get("operation") or "", result["command_id"])


def _run_view(run_id: str, raw: dict[str, str], done: int) -> dict[str, Any]:
    run: dict[str, Any] = {"run_id": run_id}
    for key, value in raw.items():
        run[key] = _unflat(key, value)
    run["done"] = done
    commands = run.get("commands")
    run["progress"] = round(min(done / commands, 1.0), 4) if commands else None
    return run


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
