"""Two real scheduler replicas (the whole app, served by uvicorn, on the real Kafka and
Redis) with a `* * * * *` schedule: across a minute boundary the slot fires exactly once —
one scheduled run in the history, one `fired` count summed over both replicas' metrics, and
exactly one replica reporting itself leader. Waits for the next minute in real time (up to
about 65 s): the schedule is real cron, not a faked clock (test_scheduler_schedules.py has
the clock-driven cases)."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from scheduler_support import scratch_redis

from roster.scheduler.app import build_app
from roster.shared.config import RosterConfig
from roster.simulators.common.serving import Servers

TOKEN = "replica-op-7f3a91"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def metric(text: str, name: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


async def ready(http: httpx.AsyncClient, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (await http.get(f"{base}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass  # still starting (its Kafka consumers join before it listens)
        await asyncio.sleep(0.2)
    pytest.fail(f"scheduler at {base} not ready in 60 s")


async def test_two_replicas_fire_a_real_cron_slot_exactly_once() -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        pytest.fail("KAFKA_BOOTSTRAP_SERVERS is not set: run `make test`")
    os.environ["ROSTER_TEST_REPLICA_TOKEN"] = TOKEN
    async with scratch_redis("trep") as scratch:
        prefix = scratch.prefix.rstrip(":")
        config = RosterConfig(
            kafka={"bootstrap_servers": bootstrap, "topic_prefix": f"{prefix}.",
                   "partitions": 1, "group_prefix": prefix},
            redis={"url": scratch.url, "key_prefix": scratch.prefix},
            directories=[{"id": "corp", "kind": "scim", "scim": {"tokens": [{"env": "X"}]},
                          "schedule": {"full": "* * * * *", "spread_seconds": 0}}],
            scheduler={"auth": {"tokens": [
                {"name": "ops", "role": "operator",
                 "token": {"env": "ROSTER_TEST_REPLICA_TOKEN"}}]}},
        )  # fmt: skip
        into_minute = time.time() % 60
        if into_minute > 30:  # start early in a minute: the first tick (which only records
            await asyncio.sleep(61 - into_minute)  # its slot) must precede the boundary
        servers = Servers()
        try:
            replicas = [await servers.start(build_app(config)) for _ in range(2)]
            async with httpx.AsyncClient(timeout=30, headers=HEADERS) as http:
                for base in replicas:
                    await ready(http, base)
                await asyncio.sleep(2)  # a tick has seen the current slot (not fired)
                now = time.time()
                assert now % 60 < 58, "the replicas took too long to start for this minute"
                boundary = (now // 60 + 1) * 60
                await asyncio.sleep(boundary - now + 4)  # the next slot is due and fired
                runs = (await http.get(f"{replicas[0]}/api/v1/runs")).json()
                pages = [(await http.get(f"{base}/metrics")).text for base in replicas]
        finally:
            await servers.close()
    scheduled = [r for r in runs if r.get("trigger") == "schedule"]
    assert [(r["directory"], r["mode"]) for r in scheduled] == [("corp", "full")]
    assert scheduled[0]["started_at"] >= boundary
    fired = sum(metric(page, "roster_scheduler_schedule_fired_total") for page in pages)
    assert fired == 1
    assert sorted(metric(page, "roster_scheduler_leader") for page in pages) == [0.0, 1.0]
