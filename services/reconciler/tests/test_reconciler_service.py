"""The reconciler service on a REAL Kafka and Redis (scripts/stack.sh), the writer played here.

Addresses come from KAFKA_BOOTSTRAP_SERVERS / REDIS_URL. A missing broker or Redis FAILS
these tests. Each test has its own topic, group and key prefix.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from reconciler_flow import answer, snapshot_events
from reconciler_support import ISSUED, KAFKA_BOOTSTRAP, REDIS_URL, cf, idp

from roster.reconciler.app import build_app
from roster.reconciler.core.state import ActualState
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.messages.base import Message
from roster.shared.messages.codec import decode, encode, headers
from roster.shared.messages.commands import ReadConfluenceState
from roster.shared.messages.deadletter import DeadLettered
from roster.shared.messages.runs import RunPlanned

pytestmark = pytest.mark.integration
BOOTSTRAP = KAFKA_BOOTSTRAP
USERS = [idp(f"user{i:04d}") for i in range(1_200)]
GROUPS = {"Eng": [f"s-user{i:04d}" for i in range(0, 1_200, 3)]}
Record = tuple[str, str, Any]


@pytest.fixture
async def kafka() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), 10)
        await admin.close()
    except Exception as exc:  # noqa: BLE001 - any failure means the broker is not there
        pytest.fail(f"Kafka not reachable at {BOOTSTRAP} ({exc!r}): run scripts/stack.sh start")


def config(prefix: str) -> RosterConfig:
    return RosterConfig(
        kafka={
            "bootstrap_servers": BOOTSTRAP,
            "topic_prefix": prefix,
            "partitions": 2,
            "group_prefix": prefix.rstrip("."),
        },
        redis={"url": REDIS_URL, "key_prefix": prefix},
        directories=[{"id": "kc", "kind": "ldap", "default_groups": ["staff"]}],
    )


class Running:
    def __init__(self, prefix: str, api: httpx.AsyncClient) -> None:
        self.prefix = prefix
        self.api = api
        self.records: list[Record] = []
        self.partition: dict[str, int] = {}
        """message id → partition it was read from (order holds within one only)."""
        self.consumer = AIOKafkaConsumer(
            *[
                prefix + f
                for f in (topics.CONFLUENCE_COMMANDS, topics.RUN_EVENTS, topics.DEAD_LETTER)
            ],
            bootstrap_servers=BOOTSTRAP,
            auto_offset_reset="earliest",
        )

    async def send(self, family: str, messages: Sequence[tuple[str, Message | bytes]]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=5)
        await producer.start()
        try:
            for key, m in messages:
                value = m if isinstance(m, bytes) else encode(m)
                hdrs = [] if isinstance(m, bytes) else headers(m, source="test").items()
                await producer.send(
                    self.prefix + family,
                    value,
                    key=key.encode(),
                    headers=[(k, v.encode()) for k, v in hdrs],
                )
            await producer.flush()
        finally:
            await producer.stop()

    async def until(self, done: Any, timeout: float = 60) -> list[Record]:
        async with asyncio.timeout(timeout):
            while not done(self.records):
                batch = await self.consumer.getmany(timeout_ms=300)
                for tp, msgs in batch.items():
                    family = tp.topic.removeprefix(self.prefix)
                    for m in msgs:
                        message = (
                            DeadLettered.model_validate_json(m.value)
                            if family == topics.DEAD_LETTER
                            else decode(family, m.value)
                        )
                        self.records.append((family, m.key.decode(), message))
                        self.partition[message.message_id] = tp.partition
        return self.records

    def of(self, family: str, run_id: str) -> list[Any]:
        return [m for f, _, m in self.records if f == family and m.run_id == run_id]


@pytest.fixture
async def running(kafka: None, redis_client: redis.Redis, prefix: str) -> AsyncIterator[Running]:
    app = build_app(config(prefix), clock=lambda: ISSUED)
    async with app.router.lifespan_context(app):
        api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")
        for _ in range(300):
            if (await api.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"reconciler not ready: {(await api.get('/readyz')).json()}")
        run = Running(prefix, api)
        await run.consumer.start()
        yield run
        await run.consumer.stop()
        await api.aclose()


def planned(run_id: str) -> Any:
    """RunPlanned seen and all its commands too (they may be fetched after it)."""

    def check(records: list[Record]) -> bool:
        done = [m for _, _, m in records if isinstance(m, RunPlanned) and m.run_id == run_id]
        sent = [m for f, _, m in records if f == topics.CONFLUENCE_COMMANDS and m.run_id == run_id]
        return bool(done) and len(sent) == 1 + done[0].commands

    return check


def dead_lettered(records: list[Record]) -> bool:
    return any(f == topics.DEAD_LETTER for f, _, _ in records)


async def sync(running: Running, run_id: str, state: ActualState, *, dry_run: bool) -> None:
    events = snapshot_events(run_id, USERS, GROUPS, dry_run=dry_run)
    await running.send(topics.DIRECTORY_EVENTS, [("kc", e) for e in events])

    def requested(records: list[Record]) -> bool:
        return bool(running.of(topics.CONFLUENCE_COMMANDS, run_id))

    await running.until(requested)
    (request,) = running.of(topics.CONFLUENCE_COMMANDS, run_id)
    assert isinstance(request, ReadConfluenceState)
    await running.send(topics.CONFLUENCE_STATE, [(run_id, m) for m in answer(request, state)])
    await running.until(planned(run_id))


async def test_snapshot_read_plan_publish_on_real_kafka(running: Running) -> None:
    state = ActualState.of(users=[cf("user0000"), cf("admin")], groups=["confluence-users"])
    await running.send(topics.DIRECTORY_EVENTS, [("kc", b"not json")])
    await sync(running, "r-dry", state, dry_run=True)
    await sync(running, "r-real", state, dry_run=False)

    (dry,) = [m for m in running.of(topics.RUN_EVENTS, "r-dry") if isinstance(m, RunPlanned)]
    assert (dry.commands, dry.dry_run, dry.summary.create_users) == (0, True, 1_199)
    assert running.of(topics.CONFLUENCE_COMMANDS, "r-dry")[1:] == []
    stored = (await running.api.get("/api/v1/runs/r-dry/plan")).json()
    assert stored["summary"] == dry.summary.model_dump()
    assert (await running.api.get("/api/v1/runs/nope/plan")).status_code == 404

    records = [(k, m) for f, k, m in running.records if f == topics.CONFLUENCE_COMMANDS]
    commands = [(k, m) for k, m in records if m.run_id == "r-real"][1:]
    (real,) = [m for m in running.of(topics.RUN_EVENTS, "r-real") if isinstance(m, RunPlanned)]
    assert real.commands == len(commands) == 1 + 1 + 1_199 + 1_200 + 400
    assert all(key == m.key for key, m in commands)
    position = {(m.type, m.target): i for i, (_, m) in enumerate(commands)}
    assert position[("CreateUser", "user0003")] < position[("AddMembership", "user0003 -> eng")]
    for partition in set(running.partition.values()):  # group creations first, per partition
        kinds = [m.type for _, m in commands if running.partition[m.message_id] == partition]
        assert "CreateGroup" not in kinds[kinds.count("CreateGroup") :]
    assert ("UpdateUser", "user0000") not in position

    await running.until(dead_lettered)
    (letter,) = [m for f, _, m in running.records if f == topics.DEAD_LETTER]
    assert letter.value == "not json"
    metrics = (await running.api.get("/metrics")).text
    assert 'roster_reconciler_plans_total{directory="kc",outcome="dry-run"} 1.0' in metrics
    assert 'roster_reconciler_plans_total{directory="kc",outcome="planned"} 1.0' in metrics
    assert 'roster_reconciler_commands_total{operation="AddMembership"} 1600.0' in metrics
    assert (
        'roster_reconciler_records_total{outcome="ok",topic="roster.directory-events"}' in metrics
    )
