"""The admin API on a real Redis: every `/api/v1` endpoint, its filters, the auth answers
(401 without or with an unknown token, 403 for a viewer doing an operator's work, CSRF on
cookie sessions), the streamed download of a 100,000-result run, config validation, the
OpenAPI document, and run retention by age and by count."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI
from scheduler_support import Recorder, fetcher_app, scratch_redis, two_tokens

from roster.scheduler.api import mount_api
from roster.scheduler.approvals import approvals_router
from roster.scheduler.auth import SESSION_COOKIE, Authenticator, Guard, csrf_token_for
from roster.scheduler.runs import RunStore
from roster.scheduler.sink import Sink
from roster.scheduler.syncs import SyncStarter
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.errors import ConfigurationError
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.results import CommandFailed, CommandSucceeded
from roster.shared.messages.runs import PlanSummary, RunHeld, RunStarted
from roster.shared.messages.sync import SyncRequested
from roster.shared.redisdb import Keys
from roster.shared.settings.scheduler import SchedulerAuth
from roster.simulators.common.serving import Servers

OPERATOR, VIEWER = "api-op-6d1f0c2b", "api-view-9a4e7b13"
TOKENS = two_tokens("API", OPERATOR, VIEWER)
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
DIRECTORIES = [
    {"id": "corp", "kind": "keycloak",
     "keycloak": {"base_url": "http://kc", "realm": "r", "client_id": "c",
                  "client_secret": {"env": "KC_SECRET"}},
     "schedule": {"full": "0 2 * * *", "delta": "*/15 * * * *", "spread_seconds": 60}},
    {"id": "partners", "kind": "scim", "scim": {"tokens": [{"env": "SCIM_TOKEN"}]}},
]  # fmt: skip


@dataclass
class World:
    http: httpx.AsyncClient
    store: RunStore
    redis: redis.Redis
    keys: Keys
    runtime: Recorder
    app: FastAPI

    async def seed(self, run_id: str, **fields: Any) -> None:
        await self.store.started(run_id, {"directory": "corp", "mode": "full"} | fields)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with scratch_redis("tapi") as scratch:
        store = RunStore(scratch.client, scratch.keys)
        runtime = Recorder()
        config = RosterConfig(
            redis={"url": scratch.url, "key_prefix": scratch.prefix}, directories=DIRECTORIES
        )
        guard = Guard(TOKENS)
        fetcher = httpx.AsyncClient(transport=httpx.ASGITransport(app=fetcher_app()))
        app = FastAPI()
        kafka = cast(KafkaRuntime, runtime)
        mount_api(app, config, SyncStarter(kafka, store), store, guard=guard, http=fetcher)
        app.include_router(
            approvals_router(config, kafka, store, guard=guard, client=scratch.client)
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield World(http, store, scratch.client, scratch.keys, runtime, app)
        await fetcher.aclose()


ENDPOINTS = [
    ("GET", "/api/v1/directories"),
    ("GET", "/api/v1/directories/corp"),
    ("POST", "/api/v1/directories/corp/check"),
    ("POST", "/api/v1/syncs"),
    ("GET", "/api/v1/runs"),
    ("GET", "/api/v1/runs/r1"),
    ("GET", "/api/v1/runs/r1/results"),
    ("GET", "/api/v1/runs/r1/results/download"),
    ("GET", "/api/v1/runs/r1/plan"),
    ("POST", "/api/v1/runs/r1/approve"),
    ("POST", "/api/v1/runs/r1/reject"),
    ("POST", "/api/v1/config/validate"),
]
OPERATOR_ONLY = {
    "/api/v1/directories/corp/check",
    "/api/v1/syncs",
    "/api/v1/runs/r1/approve",
    "/api/v1/runs/r1/reject",
}


# ---------------------------------------------------------------- auth ----


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_needs_a_known_token(world: World, method: str, path: str) -> None:
    missing = await world.http.request(method, path)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await world.http.request(method, path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "unknown token"
    basic = await world.http.request(method, path, headers={"Authorization": f"Basic {OPERATOR}"})
    assert basic.status_code == 401


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_a_viewer_reads_but_does_not_act(world: World, method: str, path: str) -> None:
    await world.seed("r1")
    body = {"directory": "corp"} if path.endswith("/syncs") else None
    response = await world.http.request(method, path, headers=AS_VIEWER, json=body)
    if path in OPERATOR_ONLY:
        assert response.status_code == 403
        assert "vic has the role viewer; this needs operator" in response.json()["detail"]
        assert world.runtime.sent == []
    else:
        assert response.status_code not in (401, 403)


async def test_a_viewer_approving_a_held_run_gets_403_and_nothing_is_decided(world: World) -> None:
    await world.seed("r1")
    held = RunHeld(run_id="r1", directory="corp", reason="x", summary=PlanSummary())
    await Sink(cast(KafkaRuntime, world.runtime), world.store).on_run_event(held)
    response = await world.http.post("/api/v1/runs/r1/approve", headers=AS_VIEWER)
    assert response.status_code == 403
    run = await world.store.get("r1")
    assert run is not None
    assert (run["status"], run.get("decision")) == ("held", None)
    approved = await world.http.post("/api/v1/runs/r1/approve", headers=AS_OPERATOR)
    assert approved.status_code == 202
    assert [m.by for _, _, m in world.runtime.sent] == ["olga"]  # type: ignore[attr-defined]


async def test_a_cookie_session_must_send_its_csrf_token_to_change_anything(
    world: World,
) -> None:
    world.http.cookies.set(SESSION_COOKIE, OPERATOR)
    body = {"directory": "corp"}
    assert (await world.http.get("/api/v1/runs")).status_code == 200  # reads need none
    forged = await world.http.post("/api/v1/syncs", json=body, headers={"X-CSRF-Token": "x"})
    assert forged.status_code == 403
    assert (await world.http.post("/api/v1/syncs", json=body)).status_code == 403
    assert world.runtime.sent == []
    good = {"X-CSRF-Token": csrf_token_for(OPERATOR)}
    assert (await world.http.post("/api/v1/syncs", json=body, headers=good)).status_code == 202


def test_tokens_are_resolved_at_start_and_a_missing_one_is_named() -> None:
    auth = SchedulerAuth(
        tokens=[{"name": "x", "role": "viewer", "token": {"env": "ROSTER_TEST_NOT_SET_42"}}]
    )
    with pytest.raises(ConfigurationError, match="ROSTER_TEST_NOT_SET_42"):
        Authenticator(auth)
    authenticator = TOKENS
    assert authenticator.identify(OPERATOR) is not None
    assert authenticator.identify(OPERATOR + "x") is None
    assert authenticator.identify("") is None
    token = {"name": "x", "role": "viewer", "token": {"env": "X"}}
    with pytest.raises(ValueError, match="given twice"):
        SchedulerAuth(tokens=[token, token])


async def test_with_auth_off_every_caller_is_an_operator(world: World) -> None:
    app = FastAPI()
    config = RosterConfig(redis={"key_prefix": world.keys("")}, directories=DIRECTORIES)
    starter = SyncStarter(cast(KafkaRuntime, world.runtime), world.store)
    guard = Guard(Authenticator(SchedulerAuth(enabled=False)))
    mount_api(app, config, starter, world.store, guard=guard)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        started = await http.post("/api/v1/syncs", json={"directory": "partners"})
    assert started.status_code == 202
    assert started.json()["by"] == "anonymous"


# ---------------------------------------------------------------- directories ----


async def test_directories_show_schedule_next_and_last_sync_and_health(world: World) -> None:
    await world.seed("old", started_at=1)
    await world.redis.zadd(world.keys("runs", "index"), {"old": 1.0})
    await world.seed("new")
    before = time.time()
    response = await world.http.get("/api/v1/directories", headers=AS_VIEWER)
    assert response.status_code == 200
    corp, partners = response.json()
    assert corp["id"] == "corp"
    assert corp["kind"] == "keycloak"
    assert corp["schedule"] == {"full": "0 2 * * *", "delta": "*/15 * * * *", "spread_seconds": 60}
    assert set(corp["next_runs"]) == {"full", "delta"}
    assert before < corp["next_runs"]["delta"] <= before + 15 * 60 + 60
    assert time.gmtime(corp["next_runs"]["full"] - 60)[3:6] == (2, 0, 0)
    assert corp["last_run"]["run_id"] == "new"
    assert corp["health"] == {"ok": True, "error": None, "reachable": True}
    assert partners["next_runs"] == {}
    assert partners["last_run"] is None
    assert partners["health"]["ok"] is False
    assert "401 from the IdP" in partners["health"]["error"]
    quick = await world.http.get("/api/v1/directories/corp?health=false", headers=AS_VIEWER)
    assert quick.json()["health"] is None
    assert (await world.http.get("/api/v1/directories/x", headers=AS_VIEWER)).status_code == 404


async def test_test_connection_asks_the_fetcher(world: World) -> None:
    ok = await world.http.post("/api/v1/directories/corp/check", headers=AS_OPERATOR)
    assert ok.json() == {"ok": True, "error": None, "reachable": True}
    bad = await world.http.post("/api/v1/directories/partners/check", headers=AS_OPERATOR)
    assert bad.json()["ok"] is False
    unknown = await world.http.post("/api/v1/directories/nope/check", headers=AS_OPERATOR)
    assert unknown.status_code == 404


async def test_an_unreachable_fetcher_is_reported_not_raised(world: World) -> None:
    app = FastAPI()
    config = RosterConfig(
        redis={"key_prefix": world.keys("")},
        directories=DIRECTORIES,
        scheduler={"fetcher_url": "http://127.0.0.1:9/{directory}"},
    )
    starter = SyncStarter(cast(KafkaRuntime, world.runtime), world.store)
    mount_api(app, config, starter, world.store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = (await http.post("/api/v1/directories/corp/check")).json()
    assert answer["ok"] is False
    assert answer["reachable"] is False
    assert "fetcher not reachable at http://127.0.0.1:9/corp/api/v1" in answer["error"]


# ---------------------------------------------------------------- syncs ----


async def test_a_sync_is_started_once_per_directory_at_a_time(world: World) -> None:
    body = {"directory": "corp", "mode": "delta", "dry_run": True, "trigger": "cli"}
    started = await world.http.post("/api/v1/syncs", json=body, headers=AS_OPERATOR)
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    assert started.json()["by"] == "olga"
    kinds = [(f, type(m).__name__) for f, _, m in world.runtime.sent]
    assert kinds == [(topics.RUN_EVENTS, "RunStarted"), (topics.SYNC_REQUESTS, "SyncRequested")]
    request = world.runtime.sent[1][2]
    assert isinstance(request, SyncRequested)
    assert (request.run_id, request.mode, request.dry_run, request.trigger) == (
        run_id, "delta", True, "cli",
    )  # fmt: skip
    assert isinstance(world.runtime.sent[0][2], RunStarted)
    again = await world.http.post("/api/v1/syncs", json=body, headers=AS_OPERATOR)
    assert again.status_code == 409
    assert again.json() == {"error": "already running", "directory": "corp", "run_id": run_id}
    assert len(world.runtime.sent) == 2
    run = (await world.http.get(f"/api/v1/runs/{run_id}", headers=AS_VIEWER)).json()
    assert (run["status"], run["mode"], run["trigger"], run["dry_run"]) == (
        "running", "delta", "cli", True,
    )  # fmt: skip


async def test_sync_requests_are_validated(world: World) -> None:
    post = world.http.post
    unknown = await post("/api/v1/syncs", json={"directory": "nope"}, headers=AS_OPERATOR)
    assert unknown.status_code == 404
    single = {"directory": "corp", "mode": "single"}
    no_subject = await post("/api/v1/syncs", json=single, headers=AS_OPERATOR)
    assert no_subject.status_code == 422
    assert "subject" in no_subject.json()["detail"]
    wrong_mode = await post(
        "/api/v1/syncs", json={"directory": "corp", "mode": "all"}, headers=AS_OPERATOR
    )
    assert wrong_mode.status_code == 422
    one = single | {"subject": "u-7"}
    started = await post("/api/v1/syncs", json=one, headers=AS_OPERATOR)
    assert started.status_code == 202
    request = world.runtime.sent[-1][2]
    assert isinstance(request, SyncRequested)
    assert request.subject == "u-7"


# ---------------------------------------------------------------- runs ----


async def test_runs_are_filtered_by_directory_status_trigger_and_time(world: World) -> None:
    await world.seed("a", trigger="schedule", started_at=100.0)
    await world.redis.zadd(world.keys("runs", "index"), {"a": 100.0})
    await world.seed("b", trigger="api", directory="partners")
    await world.seed("c", trigger="api", status="failed")
    await world.seed("d", trigger="cleanup")

    async def ids(**params: Any) -> list[str]:
        response = await world.http.get("/api/v1/runs", params=params, headers=AS_VIEWER)
        assert response.status_code == 200
        return [r["run_id"] for r in response.json()]

    assert set(await ids()) == {"a", "b", "c", "d"}
    assert set(await ids(directory="corp")) == {"a", "c", "d"}
    assert await ids(status="failed") == ["c"]
    assert set(await ids(trigger="api")) == {"b", "c"}
    assert await ids(trigger="api", directory="partners") == ["b"]
    assert "a" not in await ids(since=time.time() - 60)
    assert len(await ids(limit=2)) == 2
    bad = await world.http.get("/api/v1/runs", params={"limit": 0}, headers=AS_VIEWER)
    assert bad.status_code == 422


async def test_one_run_shows_progress(world: World) -> None:
    await world.seed("r1")
    await world.store.update("r1", {"commands": 4})
    for i in range(3):
        await world.store.record_result(ok(i))
    run = (await world.http.get("/api/v1/runs/r1", headers=AS_VIEWER)).json()
    assert (run["done"], run["commands"], run["progress"]) == (3, 4, 0.75)
    assert (await world.http.get("/api/v1/runs/nope", headers=AS_VIEWER)).status_code == 404


def ok(i: int, **fields: Any) -> CommandSucceeded:
    values: dict[str, Any] = {
        "run_id": "r1",
        "command_id": f"c{i:06d}",
        "operation": "CreateUser",
        "directory": "corp",
        "username": f"user{i:06d}",
    }
    return CommandSucceeded(**(values | fields))


async def test_results_are_filtered_and_paged(world: World) -> None:
    await world.seed("r1")
    await world.store.record_result(ok(1))
    await world.store.record_result(ok(2, noop=True, operation="UpdateUser"))
    await world.store.record_result(ok(3, operation="AddMembership", group="devs"))
    failed = CommandFailed(
        run_id="r1", command_id="c9", operation="CreateUser", username="Zoe",
        permanent=True, status=402, error="no licence seat",
    )  # fmt: skip
    await world.store.record_result(failed)

    async def page(**params: Any) -> tuple[int, list[str]]:
        response = await world.http.get("/api/v1/runs/r1/results", params=params,
                                        headers=AS_VIEWER)  # fmt: skip
        assert response.status_code == 200
        total = int(response.headers["x-total-count"])
        return total, [r["command_id"] for r in response.json()]

    assert await page() == (4, ["c9", "c000001", "c000002", "c000003"])
    assert await page(status="failed") == (1, ["c9"])
    assert await page(status="noop") == (1, ["c000002"])
    assert await page(status="applied") == (2, ["c000001", "c000003"])
    assert await page(operation="CreateUser") == (2, ["c9", "c000001"])
    assert await page(user="ZOE") == (1, ["c9"])
    assert await page(user="user00000") == (3, ["c000001", "c000002", "c000003"])
    assert await page(limit=2, offset=1) == (4, ["c000001", "c000002"])
    wrong = await world.http.get("/api/v1/runs/r1/results?status=done", headers=AS_VIEWER)
    assert wrong.status_code == 422
    missing = await world.http.get("/api/v1/runs/nope/results", headers=AS_VIEWER)
    assert missing.status_code == 404


async def test_a_100000_result_run_downloads_as_one_streamed_json_array(world: World) -> None:
    count = 100_000
    await world.seed("r1", commands=count)
    key = world.keys("run", "r1", "results")
    for start in range(0, count, 10_000):
        mapping: dict[str | bytes, str | bytes] = {
            f"c{i:06d}": ok(i, noop=i % 3 == 0).model_dump_json()
            for i in range(start, start + 10_000)
        }
        await world.redis.hset(key, mapping=mapping)  # type: ignore[arg-type]
    chunks = 0
    body = bytearray()
    servers = Servers()  # a real HTTP server: the body must arrive in pieces
    base = await servers.start(world.app)
    try:
        async with (
            httpx.AsyncClient(base_url=base, timeout=60) as http,
            http.stream("GET", "/api/v1/runs/r1/results/download", headers=AS_VIEWER) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert "content-length" not in response.headers
            disposition = response.headers["content-disposition"]
            assert disposition == 'attachment; filename="roster-run-r1-results.json"'
            async for chunk in response.aiter_raw():
                chunks += 1
                body += chunk
    finally:
        await servers.close()
    results = json.loads(body)
    assert chunks > 10  # streamed in pieces, not built as one body
    assert len(results) == count
    assert len({r["command_id"] for r in results}) == count
    assert sum(1 for r in results if r["noop"]) == len(range(0, count, 3))
    assert {r["username"] for r in results} == {f"user{i:06d}" for i in range(count)}
    run = (await world.http.get("/api/v1/runs/r1", headers=AS_VIEWER)).json()
    assert (run["done"], run["progress"]) == (count, 1.0)


async def test_downloads_of_an_empty_run_and_of_an_unknown_run(world: World) -> None:
    await world.seed("r1")
    empty = await world.http.get("/api/v1/runs/r1/results/download", headers=AS_VIEWER)
    assert empty.status_code == 200
    assert empty.json() == []
    await world.store.record_result(ok(1))
    one = await world.http.get("/api/v1/runs/r1/results/download", headers=AS_VIEWER)
    assert [r["command_id"] for r in one.json()] == ["c000001"]
    missing = await world.http.get("/api/v1/runs/x/results/download", headers=AS_VIEWER)
    assert missing.status_code == 404


# ---------------------------------------------------------------- config, OpenAPI ----


async def test_config_validate_names_every_bad_field(world: World) -> None:
    good = "directories:\n  - id: corp\n    kind: scim\n    scim: {tokens: [{env: T}]}\n"
    valid = await world.http.post("/api/v1/config/validate", content=good, headers=AS_VIEWER)
    assert valid.json() == {"valid": True, "errors": [], "directories": ["corp"]}
    bad = (
        "directories:\n  - id: Corp!\n    kind: scim\n    scim: {tokens: [{env: T}]}\n"
        "    schedule: {full: '61 * * * *'}\nscheduler: {retention: {days: 0}}\n"
    )
    answer = (
        await world.http.post("/api/v1/config/validate", content=bad, headers=AS_VIEWER)
    ).json()
    assert answer["valid"] is False
    fields = {e["field"] for e in answer["errors"]}
    assert fields == {
        "directories.0.id",
        "directories.0.schedule.full",
        "scheduler.retention.days",
    }
    as_json = json.dumps({"kafka": {"nope": 1}})
    answer = (
        await world.http.post("/api/v1/config/validate", content=as_json, headers=AS_VIEWER)
    ).json()
    assert answer["errors"] == [
        {"field": "kafka.nope", "message": "Extra inputs are not permitted"}
    ]
    for text in ("[1, 2]", "a: [", b"\xff\xfe"):
        answer = (
            await world.http.post("/api/v1/config/validate", content=text, headers=AS_VIEWER)
        ).json()
        assert answer["valid"] is False
        assert answer["errors"][0]["field"] == "<document>"


async def test_the_openapi_document_lists_every_endpoint(world: World) -> None:
    document = (await world.http.get("/openapi.json")).json()
    paths = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    expected = {(m, p.replace("/r1", "/{run_id}").replace("/corp", "/{directory_id}"))
                for m, p in ENDPOINTS}  # fmt: skip
    assert expected <= paths
    results = document["paths"]["/api/v1/runs/{run_id}/results"]["get"]
    names = {p["name"] for p in results["parameters"]}
    assert {"status", "operation", "user", "limit", "offset"} <= names


# ---------------------------------------------------------------- retention ----


async def test_retention_removes_old_and_surplus_runs_but_not_a_running_one(
    world: World,
) -> None:
    now = time.time()
    day = 86400.0
    for i, age in enumerate([40, 35, 3, 2, 1]):
        run_id = f"r{i}"
        await world.seed(run_id, status="succeeded")
        await world.redis.zadd(world.keys("runs", "index"), {run_id: now - age * day})
        await world.store.record_result(ok(i, run_id=run_id))
    await world.seed("live", status="running")
    await world.redis.zadd(world.keys("runs", "index"), {"live": now - 50 * day})
    assert await world.store.lock("corp", "live") is None
    removed = await world.store.expire(max_age_days=30, max_runs=10, now=now)
    assert removed == 2
    left = {r["run_id"] for r in await world.store.recent(100)}
    assert left == {"r2", "r3", "r4", "live"}
    assert not await world.redis.exists(world.keys("run", "r0"), world.keys("run", "r0", "results"))
    assert await world.store.expire(max_age_days=30, max_runs=2, now=now) == 1
    left = {r["run_id"] for r in await world.store.recent(100)}
    assert left == {"r3", "r4", "live"}  # the oldest finished run went; the locked one stays
