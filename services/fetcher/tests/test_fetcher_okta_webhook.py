"""Okta Event Hooks on a REAL Kafka and Redis: the simulator registers a hook pointing at
the fetcher (served over HTTP), verifies it with the one-time challenge GET, and delivers
events; a genuine delivery starts one delta sync (redeliveries of the same event uuids
start none), refused ones (no secret 401, wrong secret 403) publish nothing. A missing Kafka
or Redis FAILS these tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fetcher_support import hooks
from test_fetcher_okta_support import TOKEN, TOKEN_ENV, client_for, make_sim

from roster.fetcher.app import build_app
from roster.fetcher.core.okta import EVENT_TYPES
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.messages.codec import decode, encode, headers
from roster.shared.messages.directory import MembershipAdded, SnapshotCompleted, UserChanged
from roster.shared.messages.sync import SyncRequested
from roster.simulators.common.serving import Servers, free_port
from roster.simulators.okta import OktaSimulator

pytestmark = pytest.mark.integration

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0")
HOOK_SECRET = "hook-secret-3c9a"
HOOK_ENV = "ROSTER_TEST_OKTA_HOOK"
SSWS = {"Authorization": f"SSWS {TOKEN}"}


@dataclass
class Fetcher:
    url: str
    sim: OktaSimulator
    ctl: httpx.AsyncClient
    prefix: str

    @property
    def hook_url(self) -> str:
        return self.url + "/webhooks/okta/ok"


def config(prefix: str, public_url: str) -> RosterConfig:
    okta = {"org_url": "http://okta.test", "api_token": {"env": TOKEN_ENV},
            "event_hook": {"authorization": {"env": HOOK_ENV}}}  # fmt: skip
    return RosterConfig(
        kafka={"bootstrap_servers": BOOTSTRAP, "topic_prefix": prefix, "partitions": 1,
               "group_prefix": prefix.rstrip(".")},
        redis={"url": REDIS_URL, "key_prefix": prefix},
        directories=[{"id": "ok", "kind": "okta", "okta": okta}],
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


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as c:
            return (await c.get(url + "/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.asynccontextmanager
async def running_fetcher() -> AsyncIterator[Fetcher]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:  # noqa: BLE001 - any failure means the stack is not there
        pytest.fail(f"Redis not reachable at {REDIS_URL} ({exc!r}): run scripts/stack.sh start")
    sim = make_sim(time.time, users=40, groups=5, memberships=100)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    idp = client_for(sim)
    app = build_app(config(prefix, public), http_client=idp, hooks=hooks())
    servers = Servers()
    await servers.start(app, port)
    ctl = client_for(sim)
    try:
        await wait_for(lambda: _ready(public), "the fetcher to be ready", 60)
        yield Fetcher(public, sim, ctl, prefix)
    finally:
        await sim.state.hooks.drain()
        await servers.close()
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await ctl.aclose()
        await idp.aclose()
        await client.aclose()


@pytest.fixture
async def fetcher(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Fetcher]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(HOOK_ENV, HOOK_SECRET)
    async with running_fetcher() as running:
        yield running


async def webhook_syncs(prefix: str, until: Any, timeout: float = 30) -> list[SyncRequested]:
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
    return [r for r in found if r.trigger == "webhook"]


async def register(fetcher: Fetcher, secret: str) -> httpx.Response:
    body = {
        "name": "roster",
        "events": {"type": "EVENT_TYPE", "items": list(EVENT_TYPES)},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {
            "uri": fetcher.hook_url, "headers": [],
            "authScheme": {"type": "HEADER", "key": "Authorization", "value": secret}}},
    }  # fmt: skip
    hook = (await fetcher.ctl.post("/api/v1/eventHooks", json=body, headers=SSWS)).json()
    return await fetcher.ctl.post(f"/api/v1/eventHooks/{hook['id']}/lifecycle/verify", headers=SSWS)


async def test_verification_needs_the_secret(fetcher: Fetcher) -> None:
    refused = await register(fetcher, "not-the-secret")
    assert refused.status_code == 400
    assert "verification" in refused.text
    verified = await register(fetcher, HOOK_SECRET)
    assert verified.status_code == 200
    assert verified.json()["verificationStatus"] == "VERIFIED"
    async with httpx.AsyncClient() as c:
        bare = await c.get(fetcher.hook_url, headers={"X-Okta-Verification-Challenge": "x"})
        answer = await c.get(fetcher.hook_url, headers={
            "X-Okta-Verification-Challenge": "abc", "Authorization": HOOK_SECRET})  # fmt: skip
    assert bare.status_code == 401
    assert answer.json() == {"verification": "abc"}


async def test_deliveries_start_delta_syncs_and_refused_ones_publish_nothing(
    fetcher: Fetcher,
) -> None:
    assert (await register(fetcher, HOOK_SECRET)).status_code == 200
    await fetcher.ctl.put("/_sim/event-hooks/delivery", json={"duplicate": True, "reverse": True})
    org = (await fetcher.ctl.get("/_sim/directory")).json()
    user = org["users"][0]["id"]
    await fetcher.ctl.patch(f"/_sim/users/{user}", json={"profile": {"title": "Changed"}})
    await fetcher.sim.state.hooks.drain()
    deliveries = (await fetcher.ctl.get("/_sim/event-hooks")).json()["deliveries"]
    events = [d for d in deliveries if d["kind"] == "event"]
    assert [d["status"] for d in events] == [204, 204]  # delivered twice, same uuids
    assert events[0]["uuids"] == events[1]["uuids"]

    forged = {"eventType": "com.okta.event_hook", "data": {"events": [
        {"uuid": str(uuid.uuid4()), "eventType": "user.lifecycle.create"}]}}  # fmt: skip
    async with httpx.AsyncClient() as c:
        missing = await c.post(fetcher.hook_url, json=forged)
        wrong = await c.post(fetcher.hook_url, json=forged, headers={"Authorization": "nope"})
        junk = await c.post(fetcher.hook_url, json={"x": 1}, headers={"Authorization": HOOK_SECRET})
    assert (missing.status_code, wrong.status_code, junk.status_code) == (401, 403, 400)

    # a second genuine change: exactly two webhook syncs in all (duplicate and forgeries: none)
    await fetcher.ctl.patch(f"/_sim/users/{user}", json={"profile": {"title": "Again"}})
    await fetcher.sim.state.hooks.drain()
    syncs = await webhook_syncs(fetcher.prefix, lambda found: len(found) >= 2)
    await asyncio.sleep(1.0)  # let a wrongly published third one arrive before counting
    syncs = await webhook_syncs(fetcher.prefix, lambda found: len(found) >= 2)
    assert len(syncs) == 2
    assert {(s.directory, s.mode) for s in syncs} == {("ok", "delta")}


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
        r = SyncRequested(run_id="r-full", directory="ok", trigger="test")
        hdrs = [(k, v.encode()) for k, v in headers(r, source="test").items()]
        await producer.send_and_wait(
            prefix + topics.SYNC_REQUESTS, encode(r), key=b"ok", headers=hdrs
        )
    finally:
        await producer.stop()


async def test_a_pushed_change_ends_in_a_delta_run_with_that_change(fetcher: Fetcher) -> None:
    assert (await register(fetcher, HOOK_SECRET)).status_code == 200
    # a full sync stores the System Log cursor the webhook's delta syncs continue from
    await request_full_sync(fetcher.prefix)
    await directory_events(
        fetcher.prefix, lambda ev: any(isinstance(e, SnapshotCompleted) for e in ev)
    )
    store = fetcher.sim.state.store
    group = min(
        (g for g in store.groups.values() if g.type == "OKTA_GROUP"), key=lambda g: len(g.members)
    )
    user = next(
        u for u in store.users.values() if u.status == "ACTIVE" and u.id not in group.members
    )
    await fetcher.ctl.patch(f"/_sim/users/{user.id}", json={"profile": {"lastName": "Pushed"}})
    await fetcher.ctl.put(f"/_sim/groups/{group.id}/members/{user.id}")
    await fetcher.sim.state.hooks.drain()

    def delta_done(events: list[Any]) -> bool:
        return any(isinstance(e, MembershipAdded) and e.subject == user.id for e in events)

    events = await directory_events(fetcher.prefix, delta_done)
    changed = [e for e in events if isinstance(e, UserChanged) and e.user.subject == user.id]
    assert changed[-1].user.family_name == "Pushed"
    added = [e for e in events if isinstance(e, MembershipAdded)]
    assert [(e.group_id, e.subject) for e in added] == [(group.id, user.id)]
    runs = {e.run_id for e in changed + added}
    syncs = await webhook_syncs(fetcher.prefix, lambda found: runs <= {r.run_id for r in found})
    assert {(s.mode, s.trigger) for s in syncs if s.run_id in runs} == {("delta", "webhook")}
