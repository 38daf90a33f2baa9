"""Admin REST API under `/api/v1`: start syncs, list runs, one run, its results.

Thin routes: they validate, then publish or read the run store. Authentication and the
web UI come with the admin-surfaces issue; until then bind the scheduler to loopback.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from roster.scheduler.runs import RunStore
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.errors import ConfigurationError
from roster.shared.ids import new_run_id
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.runs import RunStarted
from roster.shared.messages.sync import SyncRequested


class SyncBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    directory: str
    mode: Literal["full", "delta", "single"] = "full"
    subject: str | None = None
    dry_run: bool = False
    trigger: str = "api"


def mount_api(app: FastAPI, config: RosterConfig, runtime: KafkaRuntime, store: RunStore) -> None:
    router = APIRouter(prefix="/api/v1")

    @router.get("/directories")
    async def directories() -> list[dict[str, Any]]:
        return [{"id": d.id, "kind": d.kind} for d in config.directories]

    @router.post("/syncs", status_code=202)
    async def start_sync(body: SyncBody) -> JSONResponse:
        try:
            config.directory(body.directory)
        except ConfigurationError as exc:
            raise HTTPException(404, str(exc)) from exc
        run_id = new_run_id()
        holder = await store.lock(body.directory, run_id)
        if holder is not None:
            return JSONResponse(
                {"error": "already running", "directory": body.directory, "run_id": holder},
                status_code=409,
            )
        started = RunStarted(
            run_id=run_id,
            directory=body.directory,
            mode=body.mode,
            trigger=body.trigger,
            dry_run=body.dry_run,
        )
        await store.started(
            run_id, started.model_dump(include={"directory", "mode", "trigger", "dry_run"})
        )
        await runtime.publish(topics.RUN_EVENTS, started, key=run_id)
        request = SyncRequested(
            run_id=run_id,
            directory=body.directory,
            mode=body.mode,
            subject=body.subject,
            dry_run=body.dry_run,
            trigger=body.trigger,
        )
        await runtime.publish(topics.SYNC_REQUESTS, request, key=body.directory)
        return JSONResponse({"run_id": run_id, "directory": body.directory}, status_code=202)

    @router.get("/runs")
    async def runs(limit: int = 50) -> list[dict[str, Any]]:
        return await store.recent(limit)

    @router.get("/runs/{run_id}")
    async def run(run_id: str) -> dict[str, Any]:
        found = await store.get(run_id)
        if found is None:
            raise HTTPException(404, f"no run {run_id}")
        return found

    @router.get("/runs/{run_id}/results")
    async def results(run_id: str) -> list[dict[str, Any]]:
        if await store.get(run_id) is None:
            raise HTTPException(404, f"no run {run_id}")
        return await store.results(run_id)

    app.include_router(router)
