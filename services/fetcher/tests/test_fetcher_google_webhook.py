"""Google push on a REAL Kafka and Redis: the fetcher (served over HTTP) opens `users.watch`
channels on the simulator, verifies every notification, and answers an accepted one with a
delta sync; refused ones publish nothing. Channels are renewed before they expire and
stopped on shutdown. A missing Kafka or Redis FAILS these tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fetcher_support import hooks
from google_fetcher_support import BASE_URL, asgi, make_sim, write_key

from roster.fetcher.app import build_app
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.messages.codec import decode, encode, headers
from roster.shared.messages.directory import MembershipAdded, SnapshotCompleted, UserChanged
from roster.shared.messages.sync import SyncRequested
from roster.simulators.common.serving import Servers, free_port
from roster.simulators.google import GoogleSimulator

pytestmark = pytest.mark.integration

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0")
EVENTS = ["add", "delete", "update", "undelete"]


@dataclass
class Fetcher:
    url: str
    sim: GoogleSimulator
    ctl: httpx.AsyncClient
    prefix: str
    redis: redis.Redis

    async def channels(self) -> list[dict[str, Any]]:
        return (await self.ctl.get("/_sim/channels")).json()  # type: ignore[no-any-return]

    @property
    def channels_key(self) -> str:
        return f"{self.prefix}fetcher:google:gw:channels"


def config(prefix: str, key: Path, public_url: str) -> RosterConfig:
    return RosterConfig(
        kafka={"bootstrap_servers": BOOTSTRAP, "topic_prefix": prefix, "partitions": 1,
               "group_prefix": prefix.rstrip(".")},
        redis={"url": REDIS_URL, "key_prefix": prefix},
        directories=[{
            "id": "gw", "kind": "google",
            "google": {"credentials": {"file": str(key)}, "subject": "admin@example.com",
                       "base_url": BASE_URL,
                       "watch": {"check_interval_seconds": 0.2, "ttl_seconds": 3600,
                                 "renew_before_seconds": 600}},
        }],
        fetcher={"public_url": public_url, "http": {"port": 0}},
    )  # fmt: skip


async def wait_for(condition: Any, what: str, timeout: float = 30) -> Any:
    try:
        async with asyncio.timeout(timeout):
            while not (result := await condition()):
                await asyncio.sleep(0.05)
            return result
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def running_fetcher(tmp_path: Path) -> AsyncIterator[Fetcher]:
    """The fetcher served by uvicorn on a free port (the simulator pushes to it over TCP)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:  # noqa: BLE001 - any failure means the stack is not there
        pytest.fail(f"Redis not reachable at {REDIS_URL} ({exc!r}): run scripts/stack.sh start")
    sim = make_sim(users=60, groups=6, memberships=200)
    key = write_key(sim, tmp_path / "sa.json")
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    idp = asgi(sim)
    app = build_app(config(prefix, key, public), http_client=idp, hooks=hooks())
    servers = Servers()
    await servers.start(app, port)
    ctl = asgi(sim)
    try:
        await wait_for(lambda: _ready(public), "the fetcher to be ready", 60)
        yield Fetcher(public, sim, ctl, prefix, client)
    finally:
        await servers.close()
        await sim.state.channels.close()
        await client.delete(f"{prefix}fetcher:google:gw:channels")
        await ctl.aclose()
        await idp.aclose()
        await client.aclose()


@pytest.fixture
async def fetcher(tmp_path: Path) -> AsyncIterator[Fetcher]:
    async with running_fetcher(tmp_path) as running:
        yield running


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as c:
            return (await c.get(url + "/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def sync_requests(prefix: str, until: Any, timeout: float = 30) -> list[SyncRequested]:
    consumer = AIOKafkaConsumer(
        prefix + topics.SYNC_REQUESTS, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[SyncRequested] = []
    try:
        async with asyncio.timeout(timeout):
            while not until(found):
                for msgs in (await consumer.getmany(timeout_ms=300)).values():
                    found += [decode(topics.SYNC_REQUESTS, m.value) for m in msgs]
    finally:
        await consumer.stop()
    return found


async def directory_events(prefix: str, until: Any, timeout: float = 60) -> list[Any]:
    consumer = AIOKafkaConsumer(
        prefix + topics.DIRECTORY_EVENTS, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while not until(found):
                for msgs in (await consumer.getmany(timeout_ms=300)).values():
                    found += [decode(topics.DIRECTORY_EVENTS, m.value) for m in msgs]
    finally:
        await consumer.stop()
    return found


async def request_full_sync(prefix: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    try:
        r = SyncRequested(run_id="r-full", directory="gw", trigger="test")
        hdrs = [(k, v.encode()) for k, v in headers(r, source="test").items()]
        await producer.send_and_wait(
            prefix + topics.SYNC_REQUESTS, encode(r), key=b"gw", headers=hdrs
        )
    finally:
        await producer.stop()


async def test_channels_open_verified_pushes_start_delta_syncs_and_bad_ones_publish_nothing(
    fetcher: Fetcher,
) -> None:
    async def all_open() -> list[dict[str, Any]] | None:
        channels = await fetcher.channels()
        return channels if sorted(c["event"] for c in channels) == sorted(EVENTS) else None

    channels = await wait_for(all_open, "one channel per watched event")
    assert all(c["has_token"] for c in channels)
    assert {c["address"] for c in channels} == {fetcher.url + "/webhooks/google/gw"}

    async def syncs_delivered() -> bool:
        entries = (await fetcher.ctl.get("/_sim/deliveries")).json()
        return len([e for e in entries if e["state"] == "sync" and e["status"] == 200]) == 4

    await wait_for(syncs_delivered, "the sync message of every channel to be accepted")

    # a full sync stores the cursor the webhook's delta syncs continue from
    await request_full_sync(fetcher.prefix)
    await directory_events(
        fetcher.prefix, lambda ev: any(isinstance(e, SnapshotCompleted) for e in ev)
    )

    # refused: no channel headers (401), unknown channel, wrong token, wrong resource (403)
    update = next(c for c in channels if c["event"] == "update")
    stored = json.loads(await fetcher.redis.hget(fetcher.channels_key, update["id"]))
    good = {
        "X-Goog-Channel-ID": update["id"],
        "X-Goog-Channel-Token": stored["token"],
        "X-Goog-Resource-ID": update["resource_id"],
        "X-Goog-Resource-State": "update",
        "X-Goog-Message-Number": "99",
    }
    bad_cases = [
        ({}, 401),
        ({**good, "X-Goog-Channel-ID": "not-a-channel"}, 403),
        ({**good, "X-Goog-Channel-Token": stored["token"] + "x"}, 403),
        ({k: v for k, v in good.items() if k != "X-Goog-Channel-Token"}, 403),
        ({**good, "X-Goog-Resource-ID": "other-resource"}, 403),
    ]
    async with httpx.AsyncClient(base_url=fetcher.url) as client:
        for hdrs, status in bad_cases:
            response = await client.post("/webhooks/google/gw", headers=hdrs, content=b"{}")
            assert response.status_code == status, hdrs

    # accepted: a real change pushed by the simulator ends in a delta with that user
    directory = (await fetcher.ctl.get("/_sim/directory")).json()
    user = next(u for u in directory["users"] if not u["is_admin"] and not u["suspended"])
    await fetcher.ctl.patch(f"/_sim/users/{user['id']}", json={"family_name": "Pushed"})

    found = await sync_requests(fetcher.prefix, lambda f: any(r.trigger == "webhook" for r in f))
    webhooks = [r for r in found if r.trigger == "webhook"]
    # the refused requests and the channels' sync messages published nothing before it
    assert [r.trigger for r in found] == ["test", "webhook"]
    assert (webhooks[0].mode, webhooks[0].directory) == ("delta", "gw")

    def changed(events: list[Any]) -> bool:
        return any(
            isinstance(e, UserChanged)
            and e.user.subject == user["id"]
            and e.run_id == webhooks[0].run_id
            for e in events
        )

    events = await directory_events(fetcher.prefix, changed)
    (change,) = [e for e in events if isinstance(e, UserChanged) and e.user.subject == user["id"]]
    assert change.user.family_name == "Pushed"

    # the same notification twice and out of order: each accepted one asks for a delta
    body = json.dumps({"kind": "admin#directory#user", "id": user["id"]}).encode()
    async with httpx.AsyncClient(base_url=fetcher.url) as client:
        for number in ("7", "6", "7"):
            hdrs = {**good, "X-Goog-Message-Number": number}
            response = await client.post("/webhooks/google/gw", headers=hdrs, content=body)
            assert response.status_code == 200
    later = await sync_requests(
        fetcher.prefix, lambda f: len([r for r in f if r.trigger == "webhook"]) >= 4
    )
    assert [r.mode for r in later if r.trigger == "webhook"] == ["delta"] * 4


async def test_a_channel_close_to_expiry_is_replaced_and_the_old_one_stopped(
    fetcher: Fetcher,
) -> None:
    async def all_open() -> list[dict[str, Any]] | None:
        channels = await fetcher.channels()
        return channels if len(channels) == len(EVENTS) else None

    channels = await wait_for(all_open, "the channels")
    old = next(c for c in channels if c["event"] == "add")
    record = json.loads(await fetcher.redis.hget(fetcher.channels_key, old["id"]))
    record["expiration"] = record["expiration"] - 3500  # 100 s left, renewal starts at 600
    await fetcher.redis.hset(fetcher.channels_key, old["id"], json.dumps(record))

    async def replaced() -> list[dict[str, Any]] | None:
        now = await fetcher.channels()
        adds = [c for c in now if c["event"] == "add"]
        return now if len(adds) == 1 and adds[0]["id"] != old["id"] else None

    now = await wait_for(replaced, "the add channel to be renewed")
    assert len(now) == len(EVENTS)
    stops = [e for e in (await fetcher.ctl.get("/_sim/requests")).json() if e["op"] == "stop"]
    assert [s["status"] for s in stops] == [204]


async def test_shutdown_stops_the_channels_this_fetcher_opened(tmp_path: Path) -> None:
    async with running_fetcher(tmp_path) as running:

        async def all_open() -> bool:
            return len(await running.channels()) == len(EVENTS)

        await wait_for(all_open, "the channels")
    assert running.sim.state.channels.live() == []
    stops = [e for e in running.sim.state.requests.entries() if e["op"] == "stop"]
    assert sorted(e["status"] for e in stops) == [204] * len(EVENTS)


async def test_channels_lost_in_a_crash_or_for_an_old_address_are_given_up(
    fetcher: Fetcher,
) -> None:
    async def all_open() -> bool:
        return len(await fetcher.channels()) == len(EVENTS)

    await wait_for(all_open, "the channels")
    ghost = {"id": "ghost", "token": "t", "event": "add", "created": 1.0}  # watch never answered
    old_address = "http://old.example/webhooks/google/gw"
    moved = {"id": "moved", "token": "t", "event": "update", "resource_id": "r",
             "expiration": 4_000_000_000.0, "address": old_address}  # fmt: skip
    for record in (ghost, moved):
        await fetcher.redis.hset(fetcher.channels_key, record["id"], json.dumps(record))

    async def cleaned() -> bool:
        return not {b"ghost", b"moved"} & set(await fetcher.redis.hkeys(fetcher.channels_key))

    await wait_for(cleaned, "the stale records to be dropped")
    assert len(await fetcher.channels()) == len(EVENTS)
    assert len(await fetcher.redis.hkeys(fetcher.channels_key)) == len(EVENTS)


async def test_sync_at_login_reads_one_google_user_and_its_groups(fetcher: Fetcher) -> None:
    directory = (await fetcher.ctl.get("/_sim/directory")).json()
    gid, members = next((g, m) for g, m in directory["memberships"].items() if m)
    subject = members[0]
    wanted = {g for g, m in directory["memberships"].items() if subject in m}
    async with httpx.AsyncClient(base_url=fetcher.url) as client:
        started = await client.post(f"/api/v1/directories/gw/users/{subject}:sync")
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]

    def done(events: list[Any]) -> bool:
        return any(isinstance(e, SnapshotCompleted) and e.run_id == run_id for e in events)

    events = [e for e in await directory_events(fetcher.prefix, done) if e.run_id == run_id]
    (user,) = [e.user for e in events if isinstance(e, UserChanged)]
    assert user.subject == subject
    assert {e.group_id for e in events if isinstance(e, MembershipAdded)} == wanted
    assert gid in wanted
