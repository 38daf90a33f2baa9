"""Admin REST API under `/api/v1`: directories, syncs, runs, per-user results, config check.

Thin routes: they check the caller's role (`auth.Guard`: viewers read, operators start
syncs and test connections), validate, then publish or read the run store. The approvals
routes (plan, approve, reject) are in approvals.py. docs/admin.md lists every endpoint;
the service serves the OpenAPI document at `/openapi.json` (browsable at `/docs`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import httpx
import yaml
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from roster.scheduler import health
from roster.scheduler.auth import OPEN, Guard, Principal
from roster.scheduler.runs import ResultFilter, RunFilter, RunStore
from roster.scheduler.schedules import next_runs
from roster.scheduler.syncs import SyncStarter
from roster.shared.config import DirectorySettings, RosterConfig
from roster.shared.errors import ConfigurationError

ResultStatus = Literal["applied", "noop", "failed"]


class SyncBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    directory: str
    mode: Literal["full", "delta", "single"] = "full"
    subject: str | None = None
    """IdP subject of the one user to sync (mode `single`)."""
    dry_run: bool = False
    trigger: str = "api"


def mount_api(
    app: FastAPI,
    config: RosterConfig,
    starter: SyncStarter,
    store: RunStore,
    *,
    guard: Guard = OPEN,
    http: httpx.AsyncClient | None = None,
) -> None:
    """Add the `/api/v1` routes; `http` is the client for the fetchers' connection checks."""
    router = APIRouter(prefix="/api/v1")
    viewer, operator = Depends(guard.viewer), Depends(guard.operator)

    async def describe(directory: DirectorySettings, with_health: bool) -> dict[str, Any]:
        last = await store.find(RunFilter(directory=directory.id, limit=1))
        schedule = directory.schedule.model_dump(exclude_none=True)
        return {
            "id": directory.id,
            "kind": directory.kind,
            "schedule": schedule,
            "next_runs": next_runs(directory, time.time()),
            "last_run": last[0] if last else None,
            "health": await health.check(http, config, directory.id) if with_health else None,
        }

    def directory_or_404(directory_id: str) -> DirectorySettings:
        try:
            return config.directory(directory_id)
        except ConfigurationError as exc:
            raise HTTPException(404, str(exc)) from exc

    @router.get("/directories")
    async def directories(health: bool = True, caller: Principal = viewer) -> list[dict[str, Any]]:
        """Every configured directory with its schedule, next and last sync, and (unless
        `health=false`) its connector's health as the fetcher sees it."""
        return list(await asyncio.gather(*(describe(d, health) for d in config.directories)))

    @router.get("/directories/{directory_id}")
    async def directory(
        directory_id: str, health: bool = True, caller: Principal = viewer
    ) -> dict[str, Any]:
        return await describe(directory_or_404(directory_id), health)

    @router.post("/directories/{directory_id}/check")
    async def test_connection(directory_id: str, caller: Principal = operator) -> dict[str, Any]:
        """Test the directory's IdP connection now (through its fetcher)."""
        directory_or_404(directory_id)
        return await health.check(http, config, directory_id)

    @router.post("/syncs", status_code=202)
    async def start_sync(body: SyncBody, principal: Principal = operator) -> JSONResponse:
        """Start a full, delta, dry-run or single-user sync; 409 while the directory runs."""
        directory_or_404(body.directory)
        if body.mode == "single" and not body.subject:
            raise HTTPException(422, "subject: a single-user sync needs the user's IdP subject")
        started = await starter.start(
            body.directory,
            mode=body.mode,
            subject=body.subject,
            dry_run=body.dry_run,
            trigger=body.trigger,
        )
        if started.running is not None:
            return JSONResponse(
                {
                    "error": "already running",
                    "directory": body.directory,
                    "run_id": started.running,
                },
                status_code=409,
            )
        return JSONResponse(
            {"run_id": started.run_id, "directory": body.directory, "by": principal.name},
            status_code=202,
        )

    @router.get("/runs")
    async def runs(
        directory: str | None = None,
        status: str | None = None,
        trigger: str | None = None,
        since: Annotated[float | None, Query(description="epoch seconds")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        caller: Principal = viewer,
    ) -> list[dict[str, Any]]:
        """Runs, newest first, filtered by directory, status, trigger and start time."""
        query = RunFilter(
            directory=directory, status=status, trigger=trigger, since=since, limit=limit
        )
        return await store.find(query)

    async def run_or_404(run_id: str) -> dict[str, Any]:
        found = await store.get(run_id)
        if found is None:
            raise HTTPException(404, f"no run {run_id}")
        return found

    @router.get("/runs/{run_id}")
    async def run(run_id: str, caller: Principal = viewer) -> dict[str, Any]:
        """One run: status, trigger, timings, summary counts and progress (done/commands)."""
        return await run_or_404(run_id)

    @router.get("/runs/{run_id}/results")
    async def results(
        run_id: str,
        status: ResultStatus | None = None,
        operation: str | None = None,
        user: Annotated[str | None, Query(description="substring of the username")] = None,
        limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
        offset: Annotated[int, Query(ge=0)] = 0,
        caller: Principal = viewer,
    ) -> JSONResponse:
        """One page of per-user results (sorted by user); `X-Total-Count` counts all matches."""
        await run_or_404(run_id)
        query = ResultFilter(
            status=status, operation=operation, user=user, limit=limit, offset=offset
        )
        total, page = await store.page_of_results(run_id, query)
        return JSONResponse(page, headers={"X-Total-Count": str(total)})

    @router.get("/runs/{run_id}/results/download")
    async def download(run_id: str, caller: Principal = viewer) -> StreamingResponse:
        """Every result of the run as one JSON array, streamed (bounded memory at any size)."""
        await run_or_404(run_id)
        filename = f"roster-run-{run_id}-results.json"
        return StreamingResponse(
            _json_array(store.raw_results(run_id)),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @router.post("/config/validate")
    async def validate(request: Request, caller: Principal = viewer) -> JSONResponse:
        """Check a configuration (YAML or JSON body) without applying it: every problem with
        the field it concerns. Secret references are not resolved here."""
        return JSONResponse(check_config(await request.body()))

    app.include_router(router)


async def _json_array(chunks: AsyncIterator[list[str]]) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for texts in chunks:
        body = ",".join(texts)
        yield (body if first else "," + body).encode()
        first = False
    yield b"]"


def check_config(body: bytes) -> dict[str, Any]:
    """`{"valid", "errors": [{"field", "message"}], "directories"}` of a configuration text."""
    try:
        data = yaml.safe_load(body.decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        return {"valid": False, "errors": [{"field": "<document>", "message": str(exc)}]}
    if not isinstance(data, dict):
        message = "the top level must be a mapping"
        return {"valid": False, "errors": [{"field": "<document>", "message": message}]}
    try:
        config = RosterConfig.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "<root>", "message": e["msg"]}
            for e in exc.errors()
        ]
        return {"valid": False, "errors": errors}
    return {"valid": True, "errors": [], "directories": [d.id for d in config.directories]}
