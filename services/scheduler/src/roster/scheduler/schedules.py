"""Cron schedules: which replica starts which directory's syncs, and when.

Every scheduler replica ticks once a second, but only the leader fires. Leadership is a
Redis lease (`sched:leader` = "<replica>:<fencing token>", PX lease) taken with SET NX and
kept by a compare-and-PEXPIRE; each new leader draws a fresh fencing token from the
counter `sched:fence`. A due slot (the latest cron time at or before now − spread) fires
through one Lua script that atomically checks the lease still holds this replica's token
and that the slot is newer than the one recorded in `sched:fired` for that directory and
job, then records it. So a replica whose lease lapsed (paused, partitioned) cannot fire, and
no slot fires twice, whichever replicas tick. Starting is `SyncStarter.start`, which keeps
one sync per directory: a slot that finds a run going is logged and counted, not queued.
A schedule seen for the first time records its current slot without firing (a deploy does
not start every directory at once); a slot missed while no replica ran fires once.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis
import structlog
from croniter import croniter
from prometheus_client import CollectorRegistry, Counter, Gauge

from roster.scheduler.syncs import Started
from roster.shared.config import DirectorySettings, RosterConfig
from roster.shared.messages.sync import SyncMode
from roster.shared.redisdb import Keys
from roster.shared.service import Periodic

log = structlog.get_logger()
JOBS: dict[str, tuple[SyncMode, str]] = {
    "full": ("full", "schedule"),
    "delta": ("delta", "schedule"),
    "cleanup": ("full", "cleanup"),
}
"""Job → (sync mode, trigger). Cleanup is a full sync: its plan applies the cleanup rules."""
DEFAULT_SPREAD = 300

# KEYS: leader, fired; ARGV: our lease value, field, slot
# → 1 fired, 0 fired already, 2 first sight (recorded, not fired), -1 not the leader
_FIRE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local last = redis.call('HGET', KEYS[2], ARGV[2])
if last and tonumber(last) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if not last then return 2 end
return 1
"""
# KEYS: leader; ARGV: value, lease ms
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: fired; ARGV: field, slot → un-records a slot whose start failed, so it fires again
_UNFIRE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HSET', KEYS[1], ARGV[1], tostring(tonumber(ARGV[2]) - 1))
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Starts(Protocol):
    async def start(
        self,
        directory: str,
        *,
        mode: SyncMode = "full",
        subject: str | None = None,
        dry_run: bool = False,
        trigger: str = "api",
    ) -> Started: ...


@dataclass(frozen=True)
class Fired:
    directory: str
    job: str
    slot: float
    run_id: str
    running: bool
    """The directory had a run already; nothing was started."""


def _slot_text(slot: float) -> str:
    """A slot as Redis stores it from a Lua argument (so the un-record compare matches)."""
    return repr(slot)


def spread(directory: DirectorySettings) -> int:
    """Seconds after the cron time this directory starts: its setting, else a stable
    0–299 s from its id (so directories on one expression do not all start at once)."""
    if directory.schedule.spread_seconds is not None:
        return directory.schedule.spread_seconds
    digest = hashlib.sha256(directory.id.encode()).hexdigest()
    return int(digest, 16) % DEFAULT_SPREAD


def _expressions(directory: DirectorySettings) -> dict[str, str]:
    schedule = directory.schedule
    found = {"full": schedule.full, "delta": schedule.delta, "cleanup": schedule.cleanup}
    return {job: expr for job, expr in found.items() if expr}


def due_slot(expression: str, directory: DirectorySettings, now: float) -> float:
    """The latest slot of `expression` due at `now`: its cron time + spread ≤ now."""
    offset = spread(directory)
    return float(croniter(expression, now - offset).get_prev(float)) + offset


def next_runs(directory: DirectorySettings, now: float) -> dict[str, float]:
    """When each scheduled job of the directory fires next (epoch seconds, spread included)."""
    offset = spread(directory)
    return {
        job: float(croniter(expr, now - offset).get_next(float)) + offset
        for job, expr in _expressions(directory).items()
    }


class CronScheduler:
    def __init__(
        self,
        config: RosterConfig,
        client: redis.Redis,
        keys: Keys,
        starter: Starts,
        *,
        replica: str | None = None,
        tick_seconds: float = 1.0,
        lease_seconds: float = 15.0,
        now: Callable[[], float] = time.time,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._directories = [d for d in config.directories if _expressions(d)]
        self._r = client
        self._starter = starter
        self._leader_key = keys("sched", "leader")
        self._fence_key = keys("sched", "fence")
        self._fired_key = keys("sched", "fired")
        self.replica = replica or uuid.uuid4().hex[:12]
        self._lease_ms = int(lease_seconds * 1000)
        self._now = now
        self._lease: str | None = None
        self._settled: dict[str, float] = {}
        """Per directory:job, the latest slot this replica knows is recorded: the Lua
        script is called only when a new slot comes due, not every tick."""
        self._loop = Periodic("cron-scheduler", tick_seconds, self.tick)
        self._fire = client.register_script(_FIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._unfire = client.register_script(_UNFIRE)
        registry = registry or CollectorRegistry()
        self._fired = Counter(
            "roster_scheduler_schedule_fired",
            "Scheduled slots fired: started, running (the directory had a run) or failed (retried)",
            ["directory", "job", "outcome"],
            registry=registry,
        )
        self._leader = Gauge(
            "roster_scheduler_leader", "1 while this replica fires the schedules", registry=registry
        )

    @property
    def is_leader(self) -> bool:
        return self._lease is not None

    @property
    def fencing_token(self) -> int | None:
        return int(self._lease.rsplit(":", 1)[1]) if self._lease else None

    async def _lead(self) -> bool:
        """Keep the lease, or take it when free; False when another replica holds it."""
        if self._lease is not None:
            if await self._renew(keys=[self._leader_key], args=[self._lease, self._lease_ms]):
                return True
            log.warning("schedule leadership lost", replica=self.replica)
            self._lease = None
        if await self._r.exists(self._leader_key):
            return False
        fence = await self._r.incr(self._fence_key)
        value = f"{self.replica}:{fence}"
        if await self._r.set(self._leader_key, value, nx=True, px=self._lease_ms):
            self._lease = value
            log.info("schedule leadership taken", replica=self.replica, fencing_token=fence)
            return True
        return False

    async def tick(self) -> list[Fired]:
        """One pass: keep or take leadership, then fire every due slot not fired yet."""
        leading = await self._lead()
        self._leader.set(1 if leading else 0)
        if not leading or self._lease is None:
            return []
        fired: list[Fired] = []
        now = self._now()
        for directory in self._directories:
            for job, expression in _expressions(directory).items():
                slot = due_slot(expression, directory, now)
                field = f"{directory.id}:{job}"
                if self._settled.get(field) == slot:
                    continue
                keys = [self._leader_key, self._fired_key]
                args = [self._lease, field, _slot_text(slot)]
                outcome = await self._fire(keys=keys, args=args)
                if outcome == -1:
                    self._lease = None  # lapsed between renew and fire: fencing stops us
                    self._leader.set(0)
                    return fired
                if outcome == 1:
                    fired.append(await self._start(directory.id, job, slot))
                self._settled[field] = slot  # fired, fired already, or first sight
        return fired

    async def _start(self, directory: str, job: str, slot: float) -> Fired:
        mode, trigger = JOBS[job]
        try:
            started = await self._starter.start(directory, mode=mode, trigger=trigger)
        except Exception:
            # not started (e.g. Kafka down at slot time): un-record the slot so the next
            # tick tries again, instead of losing tonight's sync
            field = f"{directory}:{job}"
            await self._unfire(keys=[self._fired_key], args=[field, _slot_text(slot)])
            self._fired.labels(directory, job, "failed").inc()
            raise
        running = started.running is not None
        self._fired.labels(directory, job, "running" if running else "started").inc()
        if running:
            log.info(
                "scheduled sync skipped: already running",
                directory=directory, job=job, running=started.running,
            )  # fmt: skip
        else:
            log.info("scheduled sync started", directory=directory, job=job, run_id=started.run_id)
        return Fired(directory, job, slot, started.run_id, running)

    async def start(self) -> None:
        if self._directories:
            await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        if self._lease is not None:
            await self._release(keys=[self._leader_key], args=[self._lease])
            self._lease = None
            self._leader.set(0)
