"""Thin edges: the `roster.sync-requests` subscriber and the connection-check route.

Decides only whether this fetcher answers a request and how (snapshot, or a RunFailed for
what it cannot do yet); the snapshot itself is `snapshots.SnapshotRunner`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from roster.fetcher.connectors.base import Connector
from roster.fetcher.snapshots import SnapshotRunner
from roster.shared import topics
from roster.shared.config import DirectorySettings
from roster.shared.kafka import Delivery, KafkaRuntime
from roster.shared.messages.runs import RunFailed
from roster.shared.messages.sync import SyncRequested

log = structlog.get_logger()


class SyncRequestHandler:
    def __init__(
        self,
        *,
        runtime: KafkaRuntime,
        runner: SnapshotRunner,
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
        await self.runtime.run_each(deliveries, self.handle, group=self.group)

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
            elif request.mode != "full":
                await self._refuse(
                    request, f"{request.mode} mode not supported yet for kind {settings.kind}"
                )
            else:
                await self.runner.run(request, connector)

    async def _refuse(self, request: SyncRequested, reason: str) -> None:
        log.warning("sync request refused", reason=reason)
        failed = RunFailed(
            run_id=request.run_id,
            directory=request.directory,
            error=f"directory '{request.directory}': {reason}",
        )
        await self.runtime.publish(topics.RUN_EVENTS, failed, key=request.run_id)


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
