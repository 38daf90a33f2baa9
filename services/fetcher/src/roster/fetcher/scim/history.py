"""The SCIM request history of a directory: who did what with which result, per UTC hour.

Outcomes are queued and written off the request path (one pipeline every 0.2 s) into the
hour's bucket: the latest entries (bounded by `history_per_hour`) and complete counts per
status; buckets expire after `history_days`, so the history is a rolling window.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis
import structlog
from redis.exceptions import RedisError

from roster.shared.redisdb import Keys

log = structlog.get_logger()
FLUSH_SECONDS = 0.2
FLUSH_AT = 500


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Outcome:
    who: str
    method: str
    resource: str
    status: int
    target: str | None = None
    name: str | None = None
    scim_type: str | None = None
    detail: str | None = None


class ScimHistory:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        directory: str,
        *,
        days: int,
        per_hour: int,
        now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.redis = client
        self.base = keys("fetcher", "scim", directory, "history")
        self.days = days
        self.per_hour = per_hour
        self.now = now
        self._pending: list[tuple[str, str, int]] = []
        self._wake = asyncio.Event()

    def _bucket(self, at: dt.datetime) -> str:
        return f"{self.base}:{at.strftime('%Y%m%d%H')}"

    def record(self, outcome: Outcome) -> None:
        """Queue one outcome; `run()` writes the queue in one pipeline every FLUSH_SECONDS."""
        at = self.now()
        entry = {"at": at.isoformat(timespec="milliseconds"), **_compact(outcome)}
        self._pending.append(
            (self._bucket(at), json.dumps(entry, separators=(",", ":")), outcome.status)
        )
        if len(self._pending) >= FLUSH_AT:
            self._wake.set()

    async def flush(self) -> None:
        """Best effort: a history that cannot be written never fails a SCIM request."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        ttl = self.days * 86400 + 3600
        buckets: dict[str, list[tuple[str, int]]] = {}
        for bucket, entry, status in pending:
            buckets.setdefault(bucket, []).append((entry, status))
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for bucket, items in buckets.items():
                    pipe.lpush(bucket, *(entry for entry, _ in items))
                    pipe.ltrim(bucket, 0, self.per_hour - 1)
                    pipe.expire(bucket, ttl)
                    counts: dict[str, int] = {}
                    for _, status in items:
                        counts[str(status)] = counts.get(str(status), 0) + 1
                    for status_text, n in counts.items():
                        pipe.hincrby(f"{bucket}:counts", status_text, n)
                    pipe.expire(f"{bucket}:counts", ttl)
                await pipe.execute()
        except RedisError as exc:
            log.warning("scim history not recorded", entries=len(pending), error=str(exc))

    async def run(self) -> None:
        """Background writer of the queued outcomes (flushes once more when stopped)."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
                self._wake.clear()
                await self.flush()
        finally:
            await asyncio.shield(self.flush())

    async def read(self, *, hours: int, limit: int) -> list[dict[str, Any]]:
        """The last `hours` hour windows, newest first, each with counts and latest entries."""
        await self.flush()
        at = self.now().replace(minute=0, second=0, microsecond=0)
        starts = [at - dt.timedelta(hours=h) for h in range(hours)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for start in starts:
                pipe.hgetall(f"{self._bucket(start)}:counts")
                pipe.lrange(self._bucket(start), 0, limit - 1)
            raw = await pipe.execute()
        windows = []
        for i, start in enumerate(starts):
            counts = {k: int(v) for k, v in (raw[2 * i] or {}).items()}
            if not counts:
                continue
            windows.append(
                {
                    "start": start.isoformat(),
                    "end": (start + dt.timedelta(hours=1)).isoformat(),
                    "requests": sum(counts.values()),
                    "by_status": dict(sorted(counts.items())),
                    "entries": [json.loads(e) for e in raw[2 * i + 1]],
                }
            )
        return windows


def _compact(outcome: Outcome) -> dict[str, Any]:
    return {k: v for k, v in outcome.__dict__.items() if v is not None}
