"""`make bench-sink`: how fast the scheduler's run sink stores the writer's results.

Publishes N command results of one run to `roster.confluence-results` on the local Kafka
(its own topic prefix), with the run's `RunPlanned` announcing N commands, and runs the
real sink (FastStream batch consumer, retry policy, Redis run store) until it has stored
every result and closed the run. Three rounds; prints one JSON line: `results`,
`rounds_results_per_second` and their median `results_per_second`. `make bench` runs it
next to `bench-writer`, whose `writes_per_second` (one unlimited writer replica) is the pace
the sink has to keep up with.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid

import redis.asyncio as redis
from prometheus_client import CollectorRegistry

from roster.scheduler.runs import RunStore
from roster.scheduler.sink import Sink
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.logging import configure_logging
from roster.shared.messages.base import Message
from roster.shared.messages.results import CommandSucceeded
from roster.shared.messages.runs import PlanSummary, RunPlanned
from roster.shared.redisdb import Keys

RESULTS = int(os.environ.get("BENCH_SINK_RESULTS", "20000"))
ROUNDS = 3


async def one_round(config: RosterConfig, client: redis.Redis, keys: Keys) -> float:
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    store = RunStore(client, keys)
    consumer = KafkaRuntime(config.kafka, service="bench-sink", registry=CollectorRegistry())
    Sink(consumer, store).subscribe()
    producer = KafkaRuntime(config.kafka, service="bench-writer", registry=CollectorRegistry())
    await consumer.start()
    await producer.start()
    try:
        deadline = time.monotonic() + 60
        while consumer.readiness.missing():
            if time.monotonic() > deadline:
                raise RuntimeError("sink consumers did not join their groups in 60 s")
            await asyncio.sleep(0.2)
        await store.started(run_id, {"directory": "bench", "mode": "full"})
        results: list[tuple[str, Message]] = [
            (
                run_id,
                CommandSucceeded(
                    run_id=run_id,
                    command_id=f"c{i:07d}",
                    operation="AddMembership",
                    directory="bench",
                    username=f"user{i:07d}",
                    group="bench-group",
                ),
            )
            for i in range(RESULTS)
        ]
        planned = RunPlanned(
            run_id=run_id, directory="bench", commands=RESULTS, summary=PlanSummary()
        )
        await producer.publish(topics.RUN_EVENTS, planned, key=run_id)
        await producer.publish_many(topics.CONFLUENCE_RESULTS, results)
        # time from "all results are on the broker" is not what the writer sees: it emits
        # results over time. So time the whole consume: first stored result to run closed.
        started = None
        while True:
            run = await store.get(run_id) or {}
            done = int(run.get("done", 0))
            if done and started is None:
                started = time.monotonic()
            if run.get("completed_at"):
                break
            await asyncio.sleep(0.05)
        assert started is not None
        elapsed = time.monotonic() - started
        return RESULTS / elapsed if elapsed > 0 else float("inf")
    finally:
        await producer.stop()
        await consumer.stop()


async def main() -> None:
    configure_logging("bench-sink", level="WARNING")
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0")
    prefix = f"bench-sink-{uuid.uuid4().hex[:8]}"
    config = RosterConfig(
        kafka={
            "bootstrap_servers": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092"),
            "topic_prefix": f"{prefix}.",
        },
        redis={"url": url, "key_prefix": f"{prefix}:"},
    )
    client = redis.Redis.from_url(url, decode_responses=True)
    keys = Keys(f"{prefix}:")
    try:
        paces = [await one_round(config, client, keys) for _ in range(ROUNDS)]
    finally:
        async for key in client.scan_iter(match=f"{prefix}:*", count=5000):
            await client.delete(key)
        await client.aclose()
    median = statistics.median(paces)
    print(
        json.dumps(
            {
                "results": RESULTS,
                "rounds_results_per_second": [round(p, 1) for p in paces],
                "results_per_second": round(median, 1),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
