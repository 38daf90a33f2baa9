"""Cron schedules on a real Redis: two replicas fire each slot exactly once, a lapsed
leader is fenced off, first sight does not fire, a missed slot fires once, jobs map to
modes and triggers, "already running" is counted, next runs and spread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
import redis.asyncio as redis
from prometheus_client import CollectorRegistry
from scheduler_support import Recorder, scratch_redis

from roster.scheduler.runs import RunStore
from roster.scheduler.schedules import CronScheduler, next_runs, spread
from roster.scheduler.syncs import Started, SyncStarter
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.redisdb import Keys

T0 = datetime(2026, 11, 2, 10, 0, 30, tzinfo=UTC).timestamp()
"""A Monday, 30 s past 10:00 UTC."""


def directory(id_: str, **schedule: Any) -> dict[str, Any]:
    return {"id": id_, "kind": "scim", "scim": {"tokens": [{"env": "T"}]}, "schedule": schedule}


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Starts:
    """Records every start; answers "already running" for the directories in `busy`."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    busy: set[str] = field(default_factory=set)

    async def start(
        self,
        directory: str,
        *,
        mode: Any = "full",
        subject: str | None = None,
        dry_run: bool = False,
        trigger: str = "api",
    ) -> Started:
        if directory in self.busy:
            return Started(run_id="r-busy", running="r-busy")
        self.calls.append((directory, mode, trigger))
        return Started(run_id=f"r{len(self.calls)}")


@dataclass
class World:
    url: str
    keys: Keys
    clients: list[redis.Redis] = field(default_factory=list)

    def replica(
        self, config: RosterConfig, starter: Any, clock: Clock, name: str, **kwargs: Any
    ) -> CronScheduler:
        client = redis.Redis.from_url(self.url, decode_responses=True)
        self.clients.append(client)
        return CronScheduler(
            config, client, self.keys, starter, replica=name, now=clock,
            registry=CollectorRegistry(), **kwargs,
        )  # fmt: skip


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with scratch_redis("tsched") as scratch:
        world = World(scratch.url, scratch.keys)
        yield world
        for client in world.clients:
            await client.aclose()


async def test_two_replicas_fire_each_slot_exactly_once(world: World) -> None:
    config = RosterConfig(
        directories=[
            directory("corp", full="* * * * *", spread_seconds=0),
            directory("partners", full="* * * * *", spread_seconds=7),
        ]
    )
    starter, clock = Starts(), Clock()
    a = world.replica(config, starter, clock, "a")
    b = world.replica(config, starter, clock, "b")
    await asyncio.gather(a.tick(), b.tick())  # first sight: nothing fires
    assert starter.calls == []
    fired = []
    for _ in range(5 * 60 // 5):  # five minutes in 5 s steps, both replicas racing each tick
        clock.now += 5
        for result in await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick()):
            fired += result
    assert [a.is_leader, b.is_leader].count(True) == 1
    per_directory = {
        d: sorted(f.slot for f in fired if f.directory == d) for d in ("corp", "partners")
    }
    assert len(per_directory["corp"]) == 5
    assert len(per_directory["partners"]) == 5
    for slots in per_directory.values():
        assert len(set(slots)) == len(slots)  # no slot twice
    assert all(slot % 60 == 0 for slot in per_directory["corp"])
    assert all(slot % 60 == 7 for slot in per_directory["partners"])
    assert starter.calls.count(("corp", "full", "schedule")) == 5


async def test_a_real_starter_answers_already_running_to_a_second_slot(world: World) -> None:
    client = redis.Redis.from_url(world.url, decode_responses=True)
    world.clients.append(client)
    runtime = Recorder()
    starter = SyncStarter(cast(KafkaRuntime, runtime), RunStore(client, world.keys))
    config = RosterConfig(directories=[directory("corp", full="* * * * *", spread_seconds=0)])
    clock = Clock()
    registry = CollectorRegistry()
    replica = CronScheduler(config, client, world.keys, starter, now=clock, registry=registry)
    await replica.tick()
    clock.now += 60
    (first,) = await replica.tick()
    clock.now += 60
    (second,) = await replica.tick()  # the first run has not finished: one sync at a time
    assert (first.running, second.running) == (False, True)
    assert second.run_id == first.run_id
    requests = [m for family, _, m in runtime.sent if family == topics.SYNC_REQUESTS]
    assert len(requests) == 1
    value = registry.get_sample_value(
        "roster_scheduler_schedule_fired_total",
        {"directory": "corp", "job": "full", "outcome": "running"},
    )
    assert value == 1.0


async def test_a_lapsed_leader_is_fenced_off_and_the_other_takes_over(world: World) -> None:
    config = RosterConfig(directories=[directory("corp", full="* * * * *", spread_seconds=0)])
    starter, clock = Starts(), Clock()
    a = world.replica(config, starter, clock, "a", lease_seconds=0.5)
    b = world.replica(config, starter, clock, "b", lease_seconds=0.5)
    await a.tick()
    await b.tick()
    assert (a.is_leader, b.is_leader) == (True, False)
    first_token = a.fencing_token
    await asyncio.sleep(0.8)  # a stops ticking (paused): its lease lapses
    clock.now += 60
    fired = await b.tick()
    assert b.is_leader
    assert [f.directory for f in fired] == ["corp"]
    assert b.fencing_token is not None
    assert first_token is not None
    assert b.fencing_token > first_token
    clock.now += 60
    assert await a.tick() == []  # a wakes up: it lost the lease, it fires nothing
    assert not a.is_leader
    assert len(await b.tick()) == 1  # b fires the new slot
    assert len(starter.calls) == 2


async def test_first_sight_does_not_fire_and_a_missed_slot_fires_once(world: World) -> None:
    config = RosterConfig(directories=[directory("corp", full="0 * * * *", spread_seconds=0)])
    starter, clock = Starts(), Clock()
    a = world.replica(config, starter, clock, "a")
    assert await a.tick() == []  # 10:00 slot seen first: recorded, not fired
    await a.stop()
    clock.now += 3 * 3600  # no replica ran through 11:00, 12:00 and 13:00
    b = world.replica(config, starter, clock, "b")
    fired = await b.tick()
    assert [datetime.fromtimestamp(f.slot, UTC).hour for f in fired] == [13]  # latest only
    assert await b.tick() == []


async def test_jobs_start_their_modes_and_triggers(world: World) -> None:
    config = RosterConfig(
        directories=[
            directory("corp", full="0 2 * * *", delta="*/15 * * * *", cleanup="0 4 * * 0",
                      spread_seconds=0),
        ]
    )  # fmt: skip
    starter, clock = Starts(), Clock()
    a = world.replica(config, starter, clock, "a")
    await a.tick()
    clock.now = datetime(2026, 11, 8, 4, 0, 1, tzinfo=UTC).timestamp()  # Sunday 04:00
    fired = await a.tick()
    assert {f.job for f in fired} == {"full", "delta", "cleanup"}
    assert sorted(starter.calls) == [
        ("corp", "delta", "schedule"),
        ("corp", "full", "cleanup"),
        ("corp", "full", "schedule"),
    ]


async def test_stop_releases_the_lease_for_the_next_replica(world: World) -> None:
    config = RosterConfig(directories=[directory("corp", full="* * * * *")])
    starter, clock = Starts(), Clock()
    a = world.replica(config, starter, clock, "a")
    b = world.replica(config, starter, clock, "b")
    await a.tick()
    assert a.is_leader
    await a.start()
    await a.stop()
    await b.tick()
    assert b.is_leader


async def test_without_schedules_no_replica_leads(world: World) -> None:
    config = RosterConfig(directories=[directory("corp")])
    replica = world.replica(config, Starts(), Clock(), "a")
    await replica.start()  # no loop: nothing to schedule
    await asyncio.sleep(0.05)
    await replica.stop()
    assert not replica.is_leader
    assert not await world.clients[0].exists(world.keys("sched", "leader"))


def test_next_runs_and_spread() -> None:
    config = RosterConfig(
        directories=[
            directory("corp", full="0 2 * * *", delta="*/15 * * * *", spread_seconds=90),
            directory("partners", full="0 2 * * *"),
            directory("labs", full="0 2 * * *"),
        ]
    )
    corp, partners, labs = config.directories
    upcoming = next_runs(corp, T0)
    assert upcoming["delta"] == datetime(2026, 11, 2, 10, 1, 30, tzinfo=UTC).timestamp()
    assert upcoming["full"] == datetime(2026, 11, 3, 2, 1, 30, tzinfo=UTC).timestamp()
    assert "cleanup" not in upcoming
    assert spread(corp) == 90
    assert 0 <= spread(partners) < 300
    assert spread(partners) == spread(partners)  # stable
    assert spread(partners) != spread(labs)  # different ids start at different times
    slot = upcoming["delta"]
    assert next_runs(corp, slot + 1)["delta"] == slot + 15 * 60


async def test_a_slot_whose_start_fails_is_tried_again_not_lost(world: World) -> None:
    @dataclass
    class Flaky(Starts):
        failures: int = 2

        async def start(self, directory: str, **kwargs: Any) -> Started:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("Kafka unreachable")
            return await super().start(directory, **kwargs)

    config = RosterConfig(directories=[directory("corp", full="0 2 * * *", spread_seconds=0)])
    starter, clock = Flaky(), Clock()
    registry = CollectorRegistry()
    client = redis.Redis.from_url(world.url, decode_responses=True)
    world.clients.append(client)
    replica = CronScheduler(config, client, world.keys, starter, now=clock, registry=registry)
    await replica.tick()  # first sight
    clock.now = datetime(2026, 11, 3, 2, 0, 1, tzinfo=UTC).timestamp()
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await replica.tick()
    (fired,) = await replica.tick()  # the third try starts the 02:00 sync
    assert fired.slot == datetime(2026, 11, 3, 2, 0, tzinfo=UTC).timestamp()
    assert starter.calls == [("corp", "full", "schedule")]
    assert await replica.tick() == []  # and only once
    labels = {"directory": "corp", "job": "full", "outcome": "failed"}
    assert registry.get_sample_value("roster_scheduler_schedule_fired_total", labels) == 2.0
