"""Graph change notifications on a REAL Kafka and Redis: the fetcher (served over HTTP)
creates its subscriptions at start; the simulator validates them with the `validationToken`
handshake and posts notifications when the tenant changes. A genuine notification (also a
duplicate) starts a delta sync; a missing clientState is 401, a wrong one or an unknown
subscription 403, and those publish nothing. Lifecycle events reauthorize, re-create and
resync; renewal happens before expiry. A missing Kafka or Redis FAILS these tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer
from fetcher_support import hooks
from test_fetcher_entra_connector import GRAPH, SECRET, SECRET_ENV, make_sim

from roster.fetcher.app import build_app
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.messages.codec import decode
from roster.shared.messages.sync import SyncRequested
from roster.simulators.common.serving import Servers, free_port
from roster.simulators.entra import EntraSimulator

pytestmark = pytest.mark.integration

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0")


@dataclass
class Fetcher:
    url: str
    sim: EntraSimulator
    ctl: httpx.AsyncClient
    prefix: str
    redis: redis.Redis

    @property
    def hook_url(self) -> str:
        return self.url + "/webhooks/entra/en"

    def subscriptions_key(self) -> str:
        return f"{self.prefix}fetcher:entra:en:subscriptions"


def config(prefix: str, public_url: str, sim: EntraSimulator) -> RosterConfig:
    entra = {
        "tenant_id": sim.state.config.tenant_id,
        "client_id": sim.state.config.client_id,
        "client_secret": {"env": SECRET_ENV},
        "graph_url": GRAPH,
        "login_url": GRAPH,
        "subscriptions": {"check_interval_seconds": 0.2, "lifetime_minutes": 120,
                          "renew_before_minutes": 60},
    }  # fmt: skip
    return RosterConfig(
        kafka={"bootstrap_servers": BOOTSTRAP, "topic_prefix": prefix, "partitions": 1,
               "group_prefix": prefix.rstrip(".")},
        redis={"url": REDIS_URL, "key_prefix": prefix},
        directories=[{"id": "en", "kind": "entra", "entra": entra}],
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
async def running_fetcher() -> AsyncIterator[Fetcher]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:  # noqa: BLE001 - any failure means the stack is not there
        pytest.fail(f"Redis not reachable at {REDIS_URL} ({exc!r}): run scripts/stack.sh start")
    sim = make_sim(clock=time.time, users=40, groups=5, memberships=100)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    idp = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url=GRAPH)
    ctl = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url=GRAPH)
    app = build_app(config(prefix, public, sim), http_client=idp, hooks=hooks())
    servers = Servers()
    await servers.start(app, port)
    try:
        await wait_for(
            lambda: asyncio.sleep(0, len(sim.state.subscriptions.active()) == 2),
            "the fetcher to create its two subscriptions",
            60,
        )
        yield Fetcher(public, sim, ctl, prefix, client)
    finally:
        await servers.close()
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await ctl.aclose()
        await idp.aclose()
        await client.aclose()


@pytest.fixture
async def fetcher(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Fetcher]:
    monkeypatch.setenv(SECRET_ENV, SECRET)
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
            while not until([r for r in found if r.trigger == "webhook"]):
                for msgs in (await consumer.getmany(timeout_ms=300)).values():
                    found += [decode(topics.SYNC_REQUESTS, m.value) for m in msgs]
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return [r for r in found if r.trigger == "webhook"]


async def test_subscriptions_are_created_through_the_validation_handshake(
    fetcher: Fetcher,
) -> None:
    subs = fetcher.sim.state.subscriptions
    assert {s.resource for s in subs.active()} == {"/users", "/groups"}
    validations = [d for d in subs.deliveries if d["kind"] == "validation"]
    assert len(validations) == 4  # notification and lifecycle URL of each
    assert all(d["ok"] for d in validations)
    assert all(s.notification_url == fetcher.hook_url for s in subs.active())
    async with httpx.AsyncClient() as c:
        echo = await c.post(fetcher.hook_url, params={"validationToken": "a b+c/Ω"})
    assert echo.status_code == 200
    assert echo.headers["content-type"].startswith("text/plain")
    assert echo.text == "a b+c/Ω"
    states = {s.client_state for s in subs.active()}
    assert len(states) == 2
    assert all(s and len(s) <= 128 for s in states)


async def test_notifications_start_delta_syncs_and_forged_ones_publish_nothing(
    fetcher: Fetcher,
) -> None:
    view = (await fetcher.ctl.get("/_sim/directory")).json()
    user = view["users"][0]["id"]
    await fetcher.ctl.patch(f"/_sim/users/{user}", json={"displayName": "Changed Name"})
    await fetcher.ctl.post("/_sim/notify", json={"collection": "users", "id": user})  # duplicate
    posts = [d for d in fetcher.sim.state.subscriptions.deliveries if d["kind"] == "notification"]
    assert [d["status"] for d in posts] == [202, 202]

    users_sub = next(s for s in fetcher.sim.state.subscriptions.active() if s.resource == "/users")
    item = {"subscriptionId": users_sub.id, "changeType": "updated", "resource": f"Users/{user}",
            "tenantId": fetcher.sim.state.config.tenant_id}  # fmt: skip
    async with httpx.AsyncClient() as c:
        missing = await c.post(fetcher.hook_url, json={"value": [item]})
        wrong = await c.post(fetcher.hook_url, json={"value": [{**item, "clientState": "x"}]})
        unknown = await c.post(
            fetcher.hook_url,
            json={"value": [{**item, "subscriptionId": str(uuid.uuid4()),
                             "clientState": users_sub.client_state}]},
        )  # fmt: skip
        mixed = await c.post(
            fetcher.hook_url,
            json={"value": [{**item, "clientState": users_sub.client_state},
                            {**item, "clientState": "forged"}]},
        )  # fmt: skip
        junk = await c.post(fetcher.hook_url, json={"x": 1})
    statuses = [r.status_code for r in (missing, wrong, unknown, mixed, junk)]
    assert statuses == [401, 403, 403, 403, 400]

    syncs = await webhook_syncs(fetcher.prefix, lambda found: len(found) > 2, timeout=5)
    assert len(syncs) == 2
    assert {(s.directory, s.mode) for s in syncs} == {("en", "delta")}


async def test_lifecycle_events_reauthorize_recreate_and_resync(fetcher: Fetcher) -> None:
    subs = fetcher.sim.state.subscriptions
    users_sub = next(s for s in subs.active() if s.resource == "/users")
    groups_sub = next(s for s in subs.active() if s.resource == "/groups")
    for sub_id, event in ((users_sub.id, "reauthorizationRequired"), (groups_sub.id, "missed")):
        answer = await fetcher.ctl.post(
            f"/_sim/subscriptions/{sub_id}/lifecycle", json={"event": event}
        )
        assert answer.json() == {"status": 202}

    def reauthorized() -> bool:
        return any(
            e["path"] == f"/v1.0/subscriptions/{users_sub.id}/reauthorize" and e["status"] == 204
            for e in fetcher.sim.state.requests.entries()
        )

    await wait_for(lambda: asyncio.sleep(0, reauthorized()), "POST .../reauthorize")
    removed = await fetcher.ctl.post(
        f"/_sim/subscriptions/{groups_sub.id}/lifecycle", json={"event": "subscriptionRemoved"}
    )
    assert removed.json() == {"status": 202}

    def recreated() -> bool:
        groups = [s for s in subs.active() if s.resource == "/groups"]
        return len(groups) == 1 and groups[0].id != groups_sub.id

    await wait_for(lambda: asyncio.sleep(0, recreated()), "the groups subscription again")
    syncs = await webhook_syncs(fetcher.prefix, lambda found: len(found) >= 3)
    assert len(syncs) == 3
    async with httpx.AsyncClient() as c:
        forged = await c.post(
            fetcher.hook_url + "/lifecycle",
            json={"value": [{"lifecycleEvent": "missed", "subscriptionId": users_sub.id,
                             "clientState": "nope"}]},
        )  # fmt: skip
    assert forged.status_code == 403


async def test_a_subscription_close_to_expiry_is_renewed(fetcher: Fetcher) -> None:
    subs = fetcher.sim.state.subscriptions
    users_sub = next(s for s in subs.active() if s.resource == "/users")
    before = users_sub.expiration
    key = fetcher.subscriptions_key()
    record = json.loads(await fetcher.redis.hget(key, users_sub.id))  # type: ignore[misc]
    record["expiration"] = time.time() + 30 * 60  # as if 90 of its 120 minutes had passed
    await fetcher.redis.hset(key, users_sub.id, json.dumps(record))  # type: ignore[misc]

    def renewed() -> bool:
        return any(
            e["method"] == "PATCH" and e["path"] == f"/v1.0/subscriptions/{users_sub.id}"
            for e in fetcher.sim.state.requests.entries()
        )

    await wait_for(lambda: asyncio.sleep(0, renewed()), "PATCH /subscriptions/{id}")
    assert users_sub.expiration >= before
    stored = json.loads(await fetcher.redis.hget(key, users_sub.id))  # type: ignore[misc]
    assert stored["expiration"] > record["expiration"] + 60 * 60
    assert len(subs.active()) == 2


async def directory_events(prefix: str, until: Any, timeout: float = 60) -> list[Any]:
    consumer = AIOKafkaConsumer(
        prefix + topics.DIRECTORY_EVENTS, bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    found: list[Any] = []
    try:
        async with asyncio.timeout(timeout):
            while not until(found):
                for msgs in (await consumer.getmany(timeout_ms=300)).values():
                    found += [decode(topics.DIRECTORY_EVENTS, m.value) for m in msgs]
    except TimeoutError:
        pytest.fail(f"directory events so far: {[type(e).__name__ for e in found]}")
    finally:
        await consumer.stop()
    return found


async def test_a_notification_ends_in_a_delta_of_exactly_that_change(fetcher: Fetcher) -> None:
    """Graph → webhook → sync request → the fetcher's delta run → `changes()` → events."""
    view = (await fetcher.ctl.get("/_sim/directory")).json()
    user = view["users"][0]["id"]
    await fetcher.ctl.patch(f"/_sim/users/{user}", json={"displayName": "First Change"})

    def completed(count: int) -> Any:
        return lambda found: sum(type(e).__name__ == "SnapshotCompleted" for e in found) >= count

    # no cursor stored yet: the first webhook sync runs a full snapshot and keeps its cursor
    await directory_events(fetcher.prefix, completed(1))
    await fetcher.ctl.patch(f"/_sim/users/{user}", json={"displayName": "Second Change"})
    events = await directory_events(fetcher.prefix, completed(2))
    second = events[max(i for i, e in enumerate(events) if type(e).__name__ == "SnapshotStarted") :]
    assert second[0].mode == "delta"
    changed = [e for e in second if type(e).__name__ == "UserChanged"]
    assert [(e.user.subject, e.user.display_name) for e in changed] == [(user, "Second Change")]
    assert [type(e).__name__ for e in second] == ["SnapshotStarted", "UserChanged",
                                                  "SnapshotCompleted"]  # fmt: skip
