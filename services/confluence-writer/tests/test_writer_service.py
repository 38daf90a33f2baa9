"""The writer service on a REAL Kafka and Redis (scripts/stack.sh), Confluence simulated:
commands in on `roster.confluence-commands`, one result each out, a snapshot on request, a
redelivered command reported as a replay. Also the HTTP face without Kafka.

Addresses come from KAFKA_BOOTSTRAP_SERVERS / REDIS_URL; a missing broker or Redis FAILS.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from writer_support import BASE, PASSWORD_ENV, redis_url, scenario, scenario_seed

from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.ids import command_id
from roster.shared.messages.codec import decode, encode, headers
from roster.shared.messages.commands import ReadConfluenceState
from roster.shared.messages.results import CommandSucceeded
from roster.shared.messages.state import ConfluenceStateCompleted
from roster.writer.app import build_app

pytestmark = pytest.mark.integration
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")


def config(prefix: str) -> RosterConfig:
    return RosterConfig(
        kafka={"bootstrap_servers": BOOTSTRAP, "topic_prefix": prefix, "partitions": 3,
               "group_prefix": prefix.rstrip(".")},
        redis={"url": redis_url(), "key_prefix": prefix},
        confluence={"url": BASE, "auth": {"username": "admin",
                                          "password": {"env": PASSWORD_ENV}}},
        writer={"concurrency": 4, "batch_size": 50},
    )  # fmt: skip


async def require_kafka() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), 10)
        await admin.close()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Kafka not reachable at {BOOTSTRAP} ({exc!r}): run scripts/stack.sh start")


async def send(prefix: str, messages: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    try:
        for m in messages:
            hdrs = [(k, v.encode()) for k, v in headers(m, source="test").items()]
            await producer.send_and_wait(
                prefix + topics.CONFLUENCE_COMMANDS, encode(m), key=m.key.encode(), headers=hdrs
            )
    finally:
        await producer.stop()


async def read(prefix: str, family: str, count: int, timeout: float = 60) -> list[Any]:
    consumer = AIOKafkaConsumer(
        prefix + family, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while len(out) < count:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    out.extend(decode(family, r.value) for r in records)
    finally:
        await consumer.stop()
    return out


async def test_commands_through_kafka(make_sim, control, redis_client: redis.Redis) -> None:
    await require_kafka()
    prefix = f"tw{uuid.uuid4().hex[:10]}."
    app_sim = make_sim("8.4")
    sim = control(app_sim)
    await sim.seed(scenario_seed())
    confluence = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_sim), base_url=BASE)
    app = build_app(config(prefix), http_client=confluence, redis_client=redis_client)
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://w")
    commands = scenario()
    read_cmd = ReadConfluenceState(
        run_id="run-k", command_id=command_id("run-k", "read", "", {}), groups=["team-a"]
    )
    try:
        async with app.router.lifespan_context(app):
            for _ in range(300):
                if (await api.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"writer not ready: {(await api.get('/readyz')).json()}")
            await send(prefix, commands)
            results = await read(prefix, topics.CONFLUENCE_RESULTS, len(commands))
            await send(prefix, [read_cmd, commands[1]])  # a snapshot, and a redelivery
            state = await read(prefix, topics.CONFLUENCE_STATE, 2)
            again = await read(prefix, topics.CONFLUENCE_RESULTS, len(commands) + 1)
            metrics = (await api.get("/metrics")).text
    finally:
        await api.aclose()
        await confluence.aclose()
        keys = [k async for k in redis_client.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis_client.delete(*keys)

    assert {r.command_id for r in results} == {c.command_id for c in commands}
    assert all(isinstance(r, CommandSucceeded) for r in results)
    assert isinstance(state[-1], ConfluenceStateCompleted)
    assert state[-1].error is None
    assert state[0].members == {"team-a": ["alice"]}
    twice = [r for r in again if r.command_id == commands[1].command_id]
    assert sorted((r.noop, r.detail) for r in twice) == [(False, ""), (True, "replay")]
    assert 'roster_writer_commands_total{operation="CreateUser",outcome="applied"} 2.0' in metrics
    assert 'roster_writer_http_requests_total{method="POST",status_class="2xx"}' in metrics
    assert "roster_writer_ratelimit_wait_seconds_total" in metrics


async def test_http_face_without_kafka(redis_client, prefix) -> None:
    app = build_app(config(prefix), redis_client=redis_client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://w"
    ) as api:
        assert (await api.get("/healthz")).json()["status"] == "ok"
        ready = await api.get("/readyz")
        assert ready.status_code == 503  # not in its consumer group: the lifespan never ran
        assert "roster_writer_commands_total" in (await api.get("/metrics")).text
