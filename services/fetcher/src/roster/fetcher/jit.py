"""Sync at login: `POST /api/v1/directories/{id}/users/{subject}:sync` on the fetcher.

Starts a single-user run (`SyncTrigger`, trigger `jit`), 202 with `run_id`. `?wait=true`
waits up to `timeout` seconds (default 10) for a final `status` in the scheduler's run hash
`run:{id}` in Redis (written once every command has a result): 200 with it, else 202 running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

import redis.asyncio as redis
import structlog
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from roster.fetcher.connectors.base import Connector, is_incremental
from roster.fetcher.triggers import SyncTrigger
from roster.shared.redisdb import Keys

log = structlog.get_logger()
FINAL = frozenset({"succeeded", "failed", "dry-run", "rejected", "held"})
POLL_SECONDS = 0.02
MAX_WAIT_SECONDS = 120.0


async def final_run(client: redis.Redis, keys: Keys, run_id: str) -> dict[str, str]:
    """The scheduler's hash of a run once its status is final (callers bound the wait)."""
    while True:
        run = cast(dict[str, str], await client.hgetall(keys("run", run_id)))
        if run.get("status") in FINAL:
            return run
        await asyncio.sleep(POLL_SECONDS)


def jit_router(
    connectors: Mapping[str, Connector],
    trigger: SyncTrigger,
    client: redis.Redis,
    keys: Keys,
) -> APIRouter:
    router = APIRouter()

    @router.post("/api/v1/directories/{directory_id}/users/{subject}:sync")
    async def sync_user(
        directory_id: str,
        subject: str,
        wait: bool = False,
        seconds: float = Query(10.0, alias="timeout", gt=0, le=MAX_WAIT_SECONDS),
        dry_run: bool = False,
    ) -> JSONResponse:
        """Fetch one user from the IdP and apply it end to end (sync at login)."""
        connector = connectors.get(directory_id)
        if connector is None:
            error = f"directory '{directory_id}' is not served by this fetcher"
            return JSONResponse({"error": error}, status_code=404)
        if not is_incremental(connector):
            error = f"kind {connector.kind} cannot sync a single user yet"
            return JSONResponse({"error": error}, status_code=409)
        run_id = await trigger.request_sync(
            directory_id, mode="single", trigger="jit", subject=subject, dry_run=dry_run
        )
        log.info("single-user sync requested", directory=directory_id, run_id=run_id)
        if not wait:
            return JSONResponse({"run_id": run_id}, status_code=202)
        try:
            async with asyncio.timeout(seconds):
                run = await final_run(client, keys, run_id)
        except TimeoutError:
            return JSONResponse({"run_id": run_id, "status": "running"}, status_code=202)
        body: dict[str, Any] = {"run_id": run_id, "status": run["status"]}
        if run.get("error"):
            body["error"] = run["error"]
        return JSONResponse(body, status_code=200)

    return router
