"""KafkaRuntime on the real broker: consumer groups, committed offsets, dead letters."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import CollectorRegistry

from roster.shared import topics
from roster.shared.config import KafkaSettings
from roster.shared.delivery import Retrier, RetryPolicy
from roster.shared.errors import PermanentError
from roster.shared.kafka import Delivery, KafkaRuntime
from roster.shared.messages.sync import SyncRequested


def _bootstrap() -> str:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        pytest.fail("KAFKA_BOOTSTRAP_SERVERS is not set: run `make test`")
    return servers


def _runtime(prefix: str, seen: list[Any], fail_on: set[str] | None = None) -> KafkaRuntime:
    settings = KafkaSettings(bootstrap_servers=_bootstrap(), topic_prefix=prefix, partitions=3)
    runtime = KafkaRuntime(
        settings,
        service="test",
        registry=CollectorRegistry(),
        retrier=Retrier(RetryPolicy(max_attempts=2, base_delay=0.01)),
    )

    async def handle(message: Any) -> None:
        if fail_on and message.directory in fail_on:
            raise PermanentError("refused on purpose")
        seen.append(message)

    async def on_batch(deliveries: Sequence[Delivery]) -> None:
        await runtime.run_each(deliveries, handle, group="probe")

    runtime.subscribe(topics.SYNC_REQUESTS, group="probe", handler=on_batch)
    return runtime


async def _wait(predicate: Any, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_group_commits_and_a_restarted_consumer_resumes_after_them() -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    seen: list[Any] = []
    first = _runtime(prefix, seen)
    await first.start()
    try:
        await _wait(first.readiness.ready)
        batch = [(f"d{i}", SyncRequested(run_id=f"r{i}", directory=f"d{i}")) for i in range(20)]
        await first.publish_many(topics.SYNC_REQUESTS, batch)
        await _wait(lambda: len(seen) == 20)
    finally:
        await first.stop()

    # the same group, restarted, sees only what was published after the commits
    later: list[Any] = []
    second = _runtime(prefix, later)
    await second.start()
    try:
        await _wait(second.readiness.ready)
        await second.publish(
            topics.SYNC_REQUESTS, SyncRequested(run_id="r-late", directory="x"), key="x"
        )
        await _wait(lambda: len(later) >= 1)
        await asyncio.sleep(1.0)
        assert [m.run_id for m in later] == ["r-late"]
    finally:
        await second.stop()
    assert sorted(m.run_id for m in seen) == sorted(f"r{i}" for i in range(20))


async def test_bad_and_refused_records_are_dead_lettered_and_the_rest_flows() -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    seen: list[Any] = []
    runtime = _runtime(prefix, seen, fail_on={"refused"})
    await runtime.start()
    producer = AIOKafkaProducer(bootstrap_servers=_bootstrap())
    await producer.start()
    try:
        await _wait(runtime.readiness.ready)
        topic = runtime.topics.sync_requests
        await producer.send_and_wait(topic, b'{"not": "a message"}', key=b"k")
        await runtime.publish(
            topics.SYNC_REQUESTS, SyncRequested(run_id="r1", directory="refused"), key="k"
        )
        await runtime.publish(
            topics.SYNC_REQUESTS, SyncRequested(run_id="r2", directory="ok"), key="k"
        )
        await _wait(lambda: len(seen) == 1)
        assert seen[0].run_id == "r2"
    finally:
        await producer.stop()
        await runtime.stop()

    consumer = AIOKafkaConsumer(
        runtime.topics.dead_letter,
        bootstrap_servers=_bootstrap(),
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    try:
        letters: list[Any] = []
        deadline = asyncio.get_running_loop().time() + 20
        while len(letters) < 2 and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            letters.extend(r for records in batch.values() for r in records)
    finally:
        await consumer.stop()
    errors = sorted(r.value.decode() for r in letters)
    assert len(errors) == 2
    assert any("MessageDecodeError" in e for e in errors)
    assert any("refused on purpose" in e for e in errors)
