"""The fetcher service on a REAL Kafka and Redis (scripts/stack.sh), Keycloak simulated.

Addresses come from KAFKA_BOOTSTRAP_SERVERS / REDIS_URL (defaults: the stack's ports). A
missing broker or Redis FAILS these tests: they are the proof the service works end to end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from fetcher_support import SECRET, SECRET_ENV, asgi_client, expected_from, hooks

from roster.fetcher.app import build_app
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.messages.codec import decode, encode, headers
from roster.shared.messages.directory import (
    GroupObserved,
    SnapshotCompleted,
    SnapshotFailed,
    SnapshotStarted,
    UserObserved,
)
from roster.shared.messages.runs import RunFailed, RunProgress
from roster.shared.messages.sync import SyncRequested
from roster.simulators.keycloak import KeycloakSimConfig, create_app

pytestmark = pytest.mark.integration

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0")
BAD_SECRET_ENV = "ROSTER_TEST_KC_BAD_SECRET"


@pytest.fixture
async def stack() -> None:
    """Fail (never skip) when Kafka or Redis is not there."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), 10)
        await admin.close()
    except Exception as exc:  # noqa: BLE001 - any failure means the stack is not there
        pytest.fail(f"Kafka not reachable at {BOOTSTRAP} ({exc!r}): run scripts/stack.sh start")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:  # noqa: BLE001 - any failure means the stack is not there
        pytest.fail(f"Redis not reachable at {REDIS_URL} ({exc!r}): run scripts/stack.sh start")
    finally:
        await client.aclose()


def config(prefix: str, **fetcher: Any) -> RosterConfig:
    def directory(name: str, env: str) -> dict[str, Any]:
        keycloak = {
            "base_url": "http://keycloak.test",
            "realm": "roster",
            "client_id": "roster-sync",
            "client_secret": {"env": env},
            "page_size": 100,
        }
        return {"id": name, "kind": "keycloak", "keycloak": keycloak}

    return RosterConfig(
        kafka={
            "bootstrap_servers": BOOTSTRAP,
            "topic_prefix": prefix,
            "partitions": 1,
            "group_prefix": prefix.rstrip("."),
        },
        redis={"url": REDIS_URL, "key_prefix": prefix},
        directories=[directory("kc", SECRET_ENV), directory("kc-bad", BAD_SECRET_ENV)],
        fetcher={"member_chunk": 50, **fetcher},
    )


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(BAD_SECRET_ENV, "not-the-secret")
    return f"t{uuid.uuid4().hex[:10]}."


async def wait_ready(api: httpx.AsyncClient) -> None:
    for _ in range(300):
        if (await api.get("/readyz")).status_code == 200:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"fetcher not ready: {(await api.get('/readyz')).json()}")


class Running:
    def __init__(self, app: FastAPI, sim: Any) -> None:
        self.app = app
        self.sim = sim
        self.api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f")


@pytest.fixture
async def running(stack: None, prefix: str) -> AsyncIterator[Running]:
    sim = create_app(
        KeycloakSimConfig(client_secret=SECRET, users=450, groups=12, memberships=2000, seed=21)
    )
    idp = asgi_client(sim)
    app = build_app(config(prefix), http_client=idp, hooks=hooks())
    async with app.router.lifespan_context(app):
        running = Running(app, sim)
        await wait_ready(running.api)
        yield running
        await running.api.aclose()
    await idp.aclose()


async def send(prefix: str, *requests: SyncRequested) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    try:
        for r in requests:
            hdrs = [(k, v.encode()) for k, v in headers(r, source="test").items()]
            await producer.send_and_wait(
                prefix + topics.SYNC_REQUESTS, encode(r), key=r.directory.encode(), headers=hdrs
            )
    finally:
        await producer.stop()


async def read_until(prefix: str, done: Any, timeout: float = 60) -> list[tuple[str, str, Any]]:
    """(family, key, message) from directory and run events until `done(records)` holds."""
    families = [topics.DIRECTORY_EVENTS, topics.RUN_EVENTS]
    consumer = AIOKafkaConsumer(
        *[prefix + f for f in families], bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[tuple[str, str, Any]] = []
    try:
        async with asyncio.timeout(timeout):
            while not done(records):
                batch = await consumer.getmany(timeout_ms=500)
                for tp, msgs in batch.items():
                    family = tp.topic.removeprefix(prefix)
                    records += [(family, m.key.decode(), decode(family, m.value)) for m in msgs]
    finally:
        await consumer.stop()
    return records


def of_run(records: list[tuple[str, str, Any]], run_id: str, family: str) -> list[Any]:
    return [m for f, _, m in records if f == family and m.run_id == run_id]


async def test_full_snapshot_and_failures_on_real_kafka(running: Running, prefix: str) -> None:
    await send(
        prefix,
        SyncRequested(run_id="r-full", directory="kc", dry_run=True, trigger="test"),
        SyncRequested(run_id="r-other", directory="not-mine"),
        SyncRequested(run_id="r-bad", directory="kc-bad"),
        SyncRequested(run_id="r-delta", directory="kc", mode="delta"),
    )

    def finished(records: list[tuple[str, str, Any]]) -> bool:
        delta = of_run(records, "r-delta", topics.DIRECTORY_EVENTS)
        return any(isinstance(e, SnapshotCompleted) for e in delta)

    records = await read_until(prefix, finished)

    # the full snapshot, in order, keyed by directory
    events = of_run(records, "r-full", topics.DIRECTORY_EVENTS)
    keys = {k for f, k, m in records if f == topics.DIRECTORY_EVENTS and m.run_id == "r-full"}
    assert keys == {"kc"}
    assert isinstance(events[0], SnapshotStarted)
    assert (events[0].dry_run, events[0].trigger, events[0].mode) == (True, "test", "full")
    users = [e.user for e in events if isinstance(e, UserObserved)]
    assert all(isinstance(e, UserObserved) for e in events[1 : 1 + len(users)])
    chunks = [e for e in events if isinstance(e, GroupObserved)]
    assert events[1 + len(users) : -1] == chunks
    completed = events[-1]
    assert isinstance(completed, SnapshotCompleted)
    directory = (await asgi_client(running.sim).get("/_sim/directory")).json()
    want = expected_from(directory)
    assert {u.subject: u for u in users} == {u.subject: u for u in want.users}
    members: dict[str, list[str]] = {}
    for chunk in chunks:
        got = members.setdefault(chunk.group.id, [])
        assert chunk.chunk == len(
            [c for c in chunks[: chunks.index(chunk)] if c.group.id == chunk.group.id]
        )
        assert len(chunk.members) <= 50
        got += chunk.members
    assert {g: sorted(m) for g, m in members.items()} == want.members
    assert [c.last_chunk for c in chunks].count(True) == 12
    assert (completed.users, completed.groups, completed.chunks) == (450, 12, len(chunks))
    assert completed.memberships == sum(len(m) for m in want.members.values())

    # a request for a directory this fetcher does not serve: nothing at all
    assert not [m for _, _, m in records if m.run_id == "r-other"]

    # bad credentials: SnapshotFailed + RunFailed, never a completed (empty) snapshot
    bad = of_run(records, "r-bad", topics.DIRECTORY_EVENTS)
    assert [type(e) for e in bad] == [SnapshotStarted, SnapshotFailed]
    (failed,) = of_run(records, "r-bad", topics.RUN_EVENTS)
    assert isinstance(failed, RunFailed)
    assert failed.error.startswith("directory 'kc-bad' (keycloak): snapshot failed after 0 users")
    assert "rejected the client credentials" in failed.error
    assert "not-the-secret" not in failed.error

    # a delta without a stored cursor (the dry run stores none): a full snapshot instead
    (note,) = of_run(records, "r-delta", topics.RUN_EVENTS)
    assert isinstance(note, RunProgress)
    assert note.phase.startswith("full sync instead of delta: no cursor stored")
    delta = of_run(records, "r-delta", topics.DIRECTORY_EVENTS)
    assert isinstance(delta[0], SnapshotStarted)
    assert delta[0].mode == "full"
    assert isinstance(delta[-1], SnapshotCompleted)
    assert delta[-1].users == 450

    metrics = (await running.api.get("/metrics")).text
    assert 'roster_fetcher_snapshots_total{directory="kc",outcome="completed"} 2.0' in metrics
    assert 'roster_fetcher_snapshots_total{directory="kc-bad",outcome="failed"} 1.0' in metrics
    assert 'roster_fetcher_users_total{directory="kc"} 900.0' in metrics
    assert 'roster_fetcher_idp_requests_total{directory="kc",status_class="2xx"}' in metrics
    # the start cursor (before the snapshot) and the snapshot each tried the token once
    assert 'roster_fetcher_idp_requests_total{directory="kc-bad",status_class="4xx"} 2.0' in metrics
    assert 'roster_fetcher_snapshot_seconds_count{directory="kc"} 2.0' in metrics


async def test_check_route(running: Running) -> None:
    ok = await running.api.get("/api/v1/directories/kc/check")
    assert (ok.status_code, ok.json()) == (200, {"ok": True, "error": None})
    bad = await running.api.get("/api/v1/directories/kc-bad/check")
    assert bad.status_code == 200
    assert bad.json()["ok"] is False
    assert "rejected the client credentials of client 'roster-sync'" in bad.json()["error"]
    assert "not-the-secret" not in bad.text
    unknown = await running.api.get("/api/v1/directories/nope/check")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "ok": False,
        "error": "directory 'nope' is not served by this fetcher",
    }


async def test_a_fetcher_for_a_subset_uses_its_own_consumer_group(stack: None, prefix: str) -> None:
    sim = create_app(KeycloakSimConfig(client_secret=SECRET, users=5, groups=1, memberships=3))
    idp = asgi_client(sim)
    app = build_app(config(prefix, directories=["kc"]), http_client=idp, hooks=hooks())
    async with app.router.lifespan_context(app):
        api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f")
        await wait_ready(api)
        assert (await api.get("/api/v1/directories/kc-bad/check")).status_code == 404
        admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
        await admin.start()
        try:
            groups = {g[0] for g in await admin.list_consumer_groups()}
        finally:
            await admin.close()
        await api.aclose()
    await idp.aclose()
    assert f"{prefix.rstrip('.')}-fetcher-kc" in groups
