"""The SCIM endpoint on the real stack: bearer tokens (rotation, per directory, constant-time
compare), duplicate POSTs racing over real sockets, the request history, attribute selection,
paging, and the micro-batched delta runs on Kafka."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fetcher_scim_support import (
    BOOTSTRAP,
    SCIM,
    TOKEN_A,
    TOKEN_A2,
    TOKEN_B,
    new_prefix,
    require_stack,
    running_fetcher,
    scim_config,
    set_tokens,
)

from roster.fetcher.app import build_app
from roster.shared import topics
from roster.shared.errors import ConfigurationError
from roster.shared.messages.codec import decode
from roster.simulators.common.serving import Servers

pytestmark = pytest.mark.integration
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture(autouse=True)
def _tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    set_tokens(monkeypatch)


async def test_tokens_pick_and_guard_the_directory() -> None:
    async with running_fetcher(new_prefix(), batch_seconds=30) as f:
        api = f.client
        none = await api.get("/scim/v2/Users")
        assert none.status_code == 401
        assert none.headers["content-type"].startswith(SCIM)
        assert none.headers["www-authenticate"].startswith("Bearer")
        assert none.json()["schemas"] == [ERROR]
        wrong = await api.get("/scim/v2/Users", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        basic = await api.get("/scim/v2/Users", headers={"Authorization": f"Basic {TOKEN_A}"})
        assert basic.status_code == 401
        async with f.scim(TOKEN_A) as a, f.scim(TOKEN_A2) as a2, f.scim(TOKEN_B) as b:
            made = await a.post("/Users", json={"userName": "only-in-a@example.com"})
            assert made.status_code == 201
            assert (await a2.get("/Users")).json()["totalResults"] == 1  # rotation: both work
            assert (await b.get("/Users")).json()["totalResults"] == 0  # token B → directory B
        async with f.scim(TOKEN_A, "/scim/v2/scim-a") as in_url:
            listed = await in_url.get("/Users")
            assert listed.json()["totalResults"] == 1
            location = listed.json()["Resources"][0]["meta"]["location"]
            assert "/scim/v2/scim-a/Users/" in location
        async with f.scim(TOKEN_B, "/scim/v2/scim-a") as crossed:
            assert (await crossed.get("/Users")).status_code == 401


def test_a_token_valid_for_two_directories_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROSTER_TEST_SCIM_B", TOKEN_A)
    with pytest.raises(ConfigurationError, match="unique across directories"):
        build_app(scim_config(new_prefix()))


async def test_simultaneous_posts_of_one_username_give_one_201_and_one_409() -> None:
    await require_stack()
    servers = Servers()
    base = await servers.start(build_app(scim_config(new_prefix(), batch_seconds=30)))
    try:
        headers = {"Authorization": f"Bearer {TOKEN_A}", "Content-Type": SCIM}
        limits = httpx.Limits(max_connections=40)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:
            for i in range(15):
                name = f"Racer{i}@Example.com"
                bodies = [{"userName": name}, {"userName": name.lower()}]
                answers = await asyncio.gather(
                    *(http.post("/scim/v2/Users", content=json.dumps(b)) for b in bodies)
                )
                codes = sorted(r.status_code for r in answers)
                assert codes == [201, 409], [r.text for r in answers]
                loser = next(r for r in answers if r.status_code == 409).json()
                assert loser["scimType"] == "uniqueness"
            listed = await http.get("/scim/v2/Users", params={"count": 100})
            assert listed.json()["totalResults"] == 15
            # renames race too: two users renamed to one name at once → one wins
            ids = [r["id"] for r in listed.json()["Resources"][:2]]
            patch = {"Operations": [{"op": "replace", "path": "userName", "value": "same@x"}]}
            answers = await asyncio.gather(
                *(http.patch(f"/scim/v2/Users/{i}", content=json.dumps(patch)) for i in ids)
            )
            assert sorted(r.status_code for r in answers) == [200, 409]
    finally:
        await servers.close()


async def test_history_records_who_what_and_result() -> None:
    async with running_fetcher(new_prefix(), batch_seconds=30) as f:
        async with f.scim(TOKEN_A2) as a:
            made = await a.post("/Users", json={"userName": "hist@example.com"})
            await a.post("/Users", json={"userName": "HIST@example.com"})
            await a.get("/Users/unknown-id")
            await a.patch(
                f"/Users/{made.json()['id']}",
                json={"Operations": [{"op": "replace", "path": "active", "value": False}]},
            )
        answer = await f.client.get("/api/v1/directories/scim-a/scim/history")
        assert answer.status_code == 200
        window = answer.json()["windows"][0]
        assert window["requests"] == 4
        assert window["by_status"] == {"200": 1, "201": 1, "404": 1, "409": 1}
        newest, *_, oldest = window["entries"]
        assert oldest["who"] == "token 2 (ROSTER_TEST_SCIM_A2)"
        assert (oldest["method"], oldest["resource"], oldest["status"]) == ("POST", "Users", 201)
        assert oldest["name"] == "hist@example.com"
        assert newest["method"] == "PATCH"
        assert newest["status"] == 200
        conflict = window["entries"][2]
        assert conflict["scim_type"] == "uniqueness"
        other = await f.client.get("/api/v1/directories/scim-b/scim/history")
        assert other.json()["windows"] == []
        assert (await f.client.get("/api/v1/directories/nope/scim/history")).status_code == 404


async def test_attribute_selection_and_paging() -> None:
    async with running_fetcher(new_prefix(), batch_seconds=30) as f, f.scim(TOKEN_A) as a:
        for i in range(5):
            body = {
                "userName": f"page{i}@example.com",
                "name": {"givenName": f"G{i}", "familyName": "F"},
                "emails": [{"value": f"page{i}@example.com", "type": "work"}],
                "password": "secret",
            }
            assert (await a.post("/Users", json=body)).status_code == 201
        page = (await a.get("/Users", params={"startIndex": 2, "count": 2})).json()
        assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
        assert [r["userName"] for r in page["Resources"]] == [
            "page1@example.com",
            "page2@example.com",
        ]
        only = (await a.get("/Users", params={"attributes": "name.givenName"})).json()
        first = only["Resources"][0]
        assert set(first) == {"id", "schemas", "userName", "name"}
        assert first["name"] == {"givenName": "G0"}
        without = (await a.get("/Users", params={"excludedAttributes": "emails,name"})).json()
        assert "emails" not in without["Resources"][0]
        assert "password" not in without["Resources"][0]
        bad = await a.get("/Users", params={"count": "ten"})
        assert bad.status_code == 400
        assert bad.json()["scimType"] == "invalidValue"
        flt = await a.get("/Users", params={"filter": 'userName eq "unterminated'})
        assert flt.status_code == 400
        assert flt.json()["scimType"] == "invalidFilter"
        co = await a.get(
            "/Users", params={"filter": 'name.givenName co "g3" or userName sw "PAGE4"'}
        )
        assert sorted(r["userName"] for r in co.json()["Resources"]) == [
            "page3@example.com",
            "page4@example.com",
        ]


async def test_accepted_changes_become_few_delta_runs_on_kafka() -> None:
    prefix = new_prefix()
    consumer = AIOKafkaConsumer(
        prefix + topics.RUN_EVENTS,
        prefix + topics.DIRECTORY_EVENTS,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
    )
    async with running_fetcher(prefix, batch_seconds=0.5) as f:
        async with f.scim(TOKEN_A) as a:
            ids = []
            for i in range(20):
                made = await a.post("/Users", json={"userName": f"burst{i}@example.com"})
                ids.append(made.json()["id"])
            await a.patch(
                f"/Users/{ids[0]}",
                json={"Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
            )
        await consumer.start()
        try:
            runs: set[str] = set()
            users: dict[str, bool] = {}
            deadline = asyncio.get_running_loop().time() + 60
            while ids[0] not in users or users[ids[0]] is not False or len(users) < 20:
                assert asyncio.get_running_loop().time() < deadline, (len(users), runs)
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        family = record.topic.removeprefix(prefix)
                        message = decode(family, record.value)
                        if getattr(message, "type", "") == "RunStarted":
                            assert message.trigger == "scim"
                            runs.add(message.run_id)
                        if getattr(message, "type", "") in ("UserChanged", "UserObserved"):
                            users[message.user.subject] = message.user.active
        finally:
            await consumer.stop()
    assert set(ids) <= set(users)
    assert users[ids[0]] is False
    assert 1 <= len(runs) < 21  # micro-batched: fewer runs than accepted changes


async def test_changes_left_by_a_crash_are_run_at_start() -> None:
    """Accepted (in the stream) but never run: the next fetcher start runs them."""
    import redis.asyncio as aioredis
    from fetcher_scim_support import REDIS_URL

    from roster.fetcher.scim.schemas import USERS
    from roster.fetcher.scim.store import ScimStore
    from roster.shared.redisdb import Keys

    prefix = new_prefix()
    await require_stack()
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = ScimStore(client, Keys(prefix), "scim-a")
    user = {"id": "left-1", "userName": "left@example.com", "meta": {"created": "x"}}
    change = {"k": "user", "user": {"subject": "left-1", "login": "left@example.com"}}
    assert await store.write(USERS, "left-1", old=None, new=user, changes=[change]) == "ok"
    await client.aclose()
    consumer = AIOKafkaConsumer(
        prefix + topics.DIRECTORY_EVENTS, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest"
    )
    async with running_fetcher(prefix, batch_seconds=30):
        await consumer.start()
        try:
            seen: list[str] = []
            deadline = asyncio.get_running_loop().time() + 60
            while "left-1" not in seen:
                assert asyncio.get_running_loop().time() < deadline, seen
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        message = decode(topics.DIRECTORY_EVENTS, record.value)
                        user_seen = getattr(message, "user", None)
                        if user_seen is not None:
                            seen.append(user_seen.subject)
        finally:
            await consumer.stop()
