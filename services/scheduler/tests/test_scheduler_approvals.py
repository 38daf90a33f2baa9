"""The approvals API and the sink's run states on a real Redis: plan / approve / reject
(404 unknown, 409 not held, a second decision refused so a plan executes once), and a run
shown held, then running after approval, or rejected."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI
from scheduler_support import Recorder, scratch_redis, two_tokens

from roster.scheduler.approvals import approvals_router
from roster.scheduler.auth import Guard
from roster.scheduler.runs import RunStore
from roster.scheduler.sink import Sink
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.decisions import RunApproved, RunRejected
from roster.shared.messages.runs import PlanSummary, RunCompleted, RunHeld, RunPlanned
from roster.shared.redisdb import Keys

SUMMARY = PlanSummary(deactivate_users=7)


@dataclass
class World:
    client: httpx.AsyncClient
    store: RunStore
    redis: redis.Redis
    keys: Keys
    runtime: Recorder
    sink: Sink


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with scratch_redis("t") as scratch:
        store = RunStore(scratch.client, scratch.keys)
        runtime = Recorder()
        config = RosterConfig(redis={"url": scratch.url, "key_prefix": scratch.prefix})
        app = FastAPI()
        kafka = cast(KafkaRuntime, runtime)
        app.include_router(approvals_router(config, kafka, store, client=scratch.client))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield World(http, store, scratch.client, scratch.keys, runtime, Sink(kafka, store))


async def held(world: World, run_id: str = "r1") -> None:
    """A run started, then held by the reconciler with its plan stored."""
    await world.store.lock("kc", run_id)
    await world.store.started(run_id, {"directory": "kc", "mode": "full", "dry_run": False})
    document = {"run_id": run_id, "directory": "kc", "status": "held", "hold_reason": "empty"}
    await world.redis.set(world.keys("rec", "plan", run_id), json.dumps(document))
    event = RunHeld(run_id=run_id, directory="kc", reason="empty", summary=SUMMARY)
    await world.sink.on_run_event(event)


def decisions(world: World) -> list[Any]:
    return [m for f, _, m in world.runtime.sent if f == topics.RUN_DECISIONS]


async def test_plan_of_a_held_run(world: World) -> None:
    await held(world)
    response = await world.client.get("/api/v1/runs/r1/plan")
    assert response.status_code == 200
    assert response.json()["hold_reason"] == "empty"
    run = await world.store.get("r1")
    assert run is not None
    assert (run["status"], run["reason"]) == ("held", "empty")


async def test_plan_of_unknown_runs_and_runs_without_plan(world: World) -> None:
    assert (await world.client.get("/api/v1/runs/nope/plan")).status_code == 404
    await world.store.started("r9", {"directory": "kc"})
    response = await world.client.get("/api/v1/runs/r9/plan")
    assert response.status_code == 404
    assert "no stored plan" in response.json()["detail"]


@pytest.mark.parametrize("verb", ["approve", "reject"])
async def test_unknown_and_not_held_runs(world: World, verb: str) -> None:
    assert (await world.client.post(f"/api/v1/runs/nope/{verb}")).status_code == 404
    await world.store.started("r2", {"directory": "kc"})  # running, not held
    response = await world.client.post(f"/api/v1/runs/r2/{verb}")
    assert response.status_code == 409
    assert "not held" in response.json()["detail"]
    assert decisions(world) == []


async def test_approval_is_published_once_and_the_run_runs(world: World) -> None:
    await held(world)
    first = await world.client.post("/api/v1/runs/r1/approve", json={"by": "alice"})
    assert first.status_code == 202
    assert first.json() == {"run_id": "r1", "decision": "approved"}
    second = await world.client.post("/api/v1/runs/r1/approve")
    assert second.status_code == 409
    assert (await world.client.post("/api/v1/runs/r1/reject")).status_code == 409
    (decision,) = decisions(world)
    assert isinstance(decision, RunApproved)
    assert (decision.run_id, decision.directory, decision.by) == ("r1", "kc", "alice")
    # the reconciler executes the plan and says so: the sink shows the run running
    planned = RunPlanned(run_id="r1", directory="kc", summary=SUMMARY, commands=7)
    await world.sink.on_run_event(planned)
    run = await world.store.get("r1")
    assert run is not None
    assert (run["status"], run["phase"], run["commands"]) == ("running", "writing", 7)
    assert (run["decision"], run["decided_by"]) == ("approved", "alice")


async def test_rejection_closes_the_run_and_frees_the_directory(world: World) -> None:
    await held(world)
    assert await world.store.lock("kc", "other") == "r1"  # a held run keeps the lock
    response = await world.client.post("/api/v1/runs/r1/reject", json={"comment": "bad"})
    assert response.status_code == 202
    (decision,) = decisions(world)
    assert isinstance(decision, RunRejected)
    assert decision.comment == "bad"
    done = RunCompleted(run_id="r1", directory="kc", status="rejected", summary=SUMMARY)
    await world.sink.on_run_event(done)
    run = await world.store.get("r1")
    assert run is not None
    assert (run["status"], run["phase"]) == ("rejected", "done")
    assert "completed_at" in run
    assert await world.store.lock("kc", "next") is None
    assert (await world.client.post("/api/v1/runs/r1/approve")).status_code == 409


async def test_the_router_checks_roles_and_records_the_token_name(world: World) -> None:
    app = FastAPI()
    runtime = cast(KafkaRuntime, world.runtime)
    config = RosterConfig(redis={"key_prefix": world.keys("")})
    guard = Guard(two_tokens("APPROVALS", "ops-secret", "view-secret"))
    app.include_router(
        approvals_router(config, runtime, world.store, guard=guard, client=world.redis)
    )
    await held(world)
    transport = httpx.ASGITransport(app=app)
    url = "/api/v1/runs/r1/approve"
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.post(url)).status_code == 401
        assert (await http.get("/api/v1/runs/r1/plan")).status_code == 401
        viewer = {"Authorization": "Bearer view-secret"}
        assert (await http.get("/api/v1/runs/r1/plan", headers=viewer)).status_code == 200
        assert (await http.post(url, headers=viewer)).status_code == 403
        operator = {"Authorization": "Bearer ops-secret"}
        ok = await http.post(url, headers=operator, json={"by": "someone-else"})
        assert ok.status_code == 202
    assert [m.by for m in decisions(world)] == ["olga"]


def test_decisions_travel_on_their_own_topic() -> None:
    from roster.shared.errors import MessageDecodeError
    from roster.shared.messages.codec import decode, encode, headers

    approved = RunApproved(run_id="r1", directory="kc", by="alice")
    assert decode(topics.RUN_DECISIONS, encode(approved)) == approved
    rejected = RunRejected(run_id="r1", directory="kc", comment="no")
    assert decode(topics.RUN_DECISIONS, encode(rejected)) == rejected
    assert headers(approved, source="scheduler")["ce_type"] == "io.roster.RunApproved.v1"
    assert topics.Topics("p.").run_decisions == "p.roster.run-decisions"
    assert "p.roster.run-decisions" in topics.Topics("p.").all()
    with pytest.raises(MessageDecodeError, match="run_id"):
        decode(topics.RUN_DECISIONS, b'{"type": "RunApproved", "directory": "kc"}')
