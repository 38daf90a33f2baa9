"""Admin API of the safety net: a run's stored plan, and approving or rejecting a held run.

`GET /api/v1/runs/{id}/plan` reads the reconciler's `rec:plan:{run}` (the plan of a dry or
held run, see docs/pipeline.md). `POST .../approve` and `.../reject` accept only a held run
(409 otherwise, 404 for an unknown one); the first decision wins (`RunStore.decide`) and is
published as `RunApproved` / `RunRejected` on `roster.run-decisions` for the reconciler,
which executes or closes the run. Routes are thin: the decision itself is the reconciler's.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as redis
from fastapi import APIRouter, Body, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from roster.scheduler.auth import ANONYMOUS, OPEN, Guard, Principal
from roster.scheduler.runs import RunStore
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.decisions import RunApproved, RunDecision, RunRejected
from roster.shared.redisdb import Keys, connect


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = "api"
    """Who decides; with auth on, the caller's token name is recorded instead."""
    comment: str = ""


class PlanReader:
    """Reads the reconciler's documented plan key; writes nothing."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    async def plan(self, run_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys("rec", "plan", run_id))
        if raw is None:
            return None
        document: dict[str, Any] = json.loads(raw)
        return document


async def decide_run(
    store: RunStore,
    runtime: KafkaRuntime,
    run_id: str,
    decision: type[RunDecision],
    *,
    by: str,
    comment: str = "",
) -> str:
    """Record and publish the first decision on a held run; the verb (approved / rejected).
    HTTPException 404 for an unknown run, 409 when it is not held or was decided already.
    Shared by the API and the web UI."""
    run = await store.get(run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id}")
    verb = "approved" if decision is RunApproved else "rejected"
    if run.get("status") != "held":
        raise HTTPException(409, f"run {run_id} is {run.get('status')}, not held")
    if not await store.decide(run_id, verb, by):
        raise HTTPException(409, f"run {run_id} was {run.get('decision')} already")
    fields: dict[str, Any] = {"run_id": run_id, "directory": run["directory"], "by": by}
    message = (
        RunApproved(**fields) if decision is RunApproved else RunRejected(**fields, comment=comment)
    )
    await runtime.publish(topics.RUN_DECISIONS, message, key=run_id)
    return verb


def approvals_router(
    config: RosterConfig,
    runtime: KafkaRuntime,
    store: RunStore,
    *,
    guard: Guard = OPEN,
    client: redis.Redis | None = None,
) -> APIRouter:
    """The plan (viewer) and approve / reject (operator) routes."""
    router = APIRouter(prefix="/api/v1")
    viewer, operator = Depends(guard.viewer), Depends(guard.operator)
    plans = PlanReader(client or connect(config.redis), Keys(config.redis.key_prefix))

    @router.get("/runs/{run_id}/plan")
    async def run_plan(run_id: str, caller: Principal = viewer) -> dict[str, Any]:
        """The stored plan of a dry or held run: status, hold reason, summary, per-user
        changes with their reasons, commands, links."""
        document = await plans.plan(run_id)
        if document is not None:
            return document
        if await store.get(run_id) is None:
            raise HTTPException(404, f"no run {run_id}")
        raise HTTPException(404, f"run {run_id} has no stored plan (only dry and held runs)")

    async def decide(
        principal: Principal, run_id: str, body: DecisionBody, decision: type[RunDecision]
    ) -> JSONResponse:
        by = body.by if principal is ANONYMOUS else principal.name
        verb = await decide_run(store, runtime, run_id, decision, by=by, comment=body.comment)
        return JSONResponse({"run_id": run_id, "decision": verb}, status_code=202)

    @router.post("/runs/{run_id}/approve", status_code=202)
    async def approve(
        run_id: str, body: DecisionBody | None = Body(None), principal: Principal = operator
    ) -> JSONResponse:
        """Execute a held run's stored plan (once)."""
        return await decide(principal, run_id, body or DecisionBody(), RunApproved)

    @router.post("/runs/{run_id}/reject", status_code=202)
    async def reject(
        run_id: str, body: DecisionBody | None = Body(None), principal: Principal = operator
    ) -> JSONResponse:
        """Close a held run without executing it (status rejected)."""
        return await decide(principal, run_id, body or DecisionBody(), RunRejected)

    return router
