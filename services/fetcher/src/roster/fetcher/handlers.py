"""Thin edges: the `roster.sync-requests` subscriber and the connection-check route.

Decides only whether this fetcher answers a request and how (full, delta or single run via
`deltas.DeltaRunner`, or RunFailed). Delta requests of one directory in one batch (queued
while a run was in progress) are coalesced: the last runs, earlier ones close with 0 commands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from roster.fetcher.connectors.base import Connector
from roster.fetcher.deltas import DeltaRunner
from roster.shared import topics
from roster.shared.config import DirectorySettings
from roster.shared.kafka import Delivery, KafkaRuntime
from roster.shared.messages.runs import PlanSummary, RunFailed, RunPlanned, RunProgress
from roster.shared.messages.sync import SyncRequested

log = structlog.get_logger()


class SyncRequestHandler:
    def __init__(
        self,
        *,
        runtime: KafkaRuntime,
        runner: DeltaRunner,
        served: Mapping[str, DirectorySettings],
        connectors: Mapping[str, Connector],
        group: str,
    ) -> None:
        self.runtime = runtime
        self.runner = runner
        self.served = served
        self.connectors = connectors
        self.group = group

    async def on_batch(self, deliveries: Sequence[Delivery]) -> None:
        covered = coalesced(deliveries)
        for delivery in deliveries:
            cover = covered.get(id(delivery))
            if cover is None:
                await self.runtime.run_one(delivery, self.handle, group=self.group)
            else:
                await self.runtime.run_one(delivery, _Coalesce(self, cover), group=self.group)

    async def coalesce(self, request: SyncRequested, cover: str) -> None:
        if request.directory not in self.served:
            return
        log.info("delta request coalesced", run_id=request.run_id, covered_by=cover)
        note = RunProgress(
            run_id=request.run_id, directory=request.directory, phase=f"coalesced into run {cover}"
        )
        await self.runtime.publish(topics.RUN_EVENTS, note, key=request.run_id)
        done = RunPlanned(
            run_id=request.run_id,
            directory=request.directory,
            summary=PlanSummary(),
            commands=0,
            dry_run=request.dry_run,
        )
        await self.runtime.publish(topics.RUN_EVENTS, done, key=request.run_id)

    async def handle(self, message: Any) -> None:
        request: SyncRequested = message
        settings = self.served.get(request.directory)
        if settings is None:
            log.info("sync request ignored", directory=request.directory, run_id=request.run_id)
            return
        connector = self.connectors.get(request.directory)
        with structlog.contextvars.bound_contextvars(
            directory=request.directory, run_id=request.run_id
        ):
            if connector is None:
                await self._refuse(request, f"no connector for kind {settings.kind} yet")
            elif request.mode == "delta":
                await self.runner.delta(request, connector)
            elif request.mode == "single":
                await self.runner.single(request, connector)
            else:
                await self.runner.full(request, connector)

    async def _refuse(self, request: SyncRequested, reason: str) -> None:
        log.warning("sync request refused", reason=reason)
        failed = RunFailed(
            run_id=request.run_id,
            directory=request.directory,
            error=f"directory '{request.directory}': {reason}",
        )
        await self.runtime.publish(topics.RUN_EVENTS, failed, key=request.run_id)


class _Coalesce:
    def __init__(self, handler: SyncRequestHandler, cover: str) -> None:
        self.handler = handler
        self.cover = cover

    async def __call__(self, message: Any) -> None:
        await self.handler.coalesce(message, self.cover)


def coalesced(deliveries: Sequence[Delivery]) -> dict[int, str]:
    """Delta requests a later delta request of the same directory (and dry-run flag) in the
    batch covers: `id(delivery)` → the covering run id."""
    last: dict[tuple[str, bool], str] = {}
    covered: dict[int, str] = {}
    for delivery in reversed(deliveries):
        request = delivery.message
        if not isinstance(request, SyncRequested) or request.mode != "delta":
            continue
        slot = (request.directory, request.dry_run)
        if slot in last:
            covered[id(delivery)] = last[slot]
        else:
            last[slot] = request.run_id
    return covered


def check_router(
    served: Mapping[str, DirectorySettings], connectors: Mapping[str, Connector]
) -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/directories/{directory_id}/check")
    async def check_directory(directory_id: str) -> JSONResponse:
        """Test the IdP connection of one directory: `{"ok": bool, "error": str | null}`."""
        if directory_id not in served:
            error = f"directory '{directory_id}' is not served by this fetcher"
            return JSONResponse({"ok": False, "error": error}, status_code=404)
        connector = connectors.get(directory_id)
        if connector is None:
            kind = served[directory_id].kind
            return JSONResponse({"ok": False, "error": f"no connector for kind {kind} yet"})
        try:
            await connector.check()
        except Exception as exc:  # noqa: BLE001 - any failure is the answer, not a 500
            log.info("directory check failed", directory=directory_id, error=str(exc))
            return JSONResponse({"ok": False, "error": str(exc) or type(exc).__name__})
        return JSONResponse({"ok": True, "error": None})

    return router
