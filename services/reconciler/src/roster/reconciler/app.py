"""Composition root of the reconciler: settings → Redis stores, Kafka runtime → app.

Subscribes to `roster.directory-events` and `roster.confluence-state` (group `reconciler`)
and serves `/healthz`, `/readyz`, `/metrics` plus the stored plan of a run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.adapters.runs import RunMarks
from roster.reconciler.adapters.snapshots import SnapshotStore
from roster.reconciler.approvals import DecisionHandler
from roster.reconciler.core.ruleset import check_rules
from roster.reconciler.handlers import GROUP, Handlers
from roster.reconciler.intake import SnapshotIntake
from roster.reconciler.metrics import ReconcilerMetrics
from roster.reconciler.planner import Clock, RunPlanner
from roster.reconciler.reporting import RunReporter
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.logging import configure_logging
from roster.shared.redisdb import Keys, connect
from roster.shared.service import create_service_app, serve

SERVICE = "reconciler"


def utc_now() -> datetime:
    return datetime.now(UTC)


def plan_router(marks: RunMarks) -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/runs/{run_id}/plan")
    async def stored_plan(run_id: str) -> JSONResponse:
        """The stored plan of a dry run: summary, commands, explanations, links, notes."""
        document = await marks.load_plan(run_id)
        if document is None:
            return JSONResponse({"error": f"no stored plan for run '{run_id}'"}, status_code=404)
        return JSONResponse(document)

    return router


def build_app(config: RosterConfig, *, clock: Clock = utc_now) -> FastAPI:
    """`clock` stamps the commands' `occurred_at`; tests pass a fixed one."""
    check_rules(config.directories)  # a bad CEL expression stops the start, naming it
    registry = CollectorRegistry()
    metrics = ReconcilerMetrics(registry)
    runtime = KafkaRuntime(config.kafka, service=SERVICE, registry=registry)
    client = connect(config.redis)
    keys = Keys(config.redis.key_prefix)
    store = SnapshotStore(client, keys)
    links = LinkStore(client, keys)
    marks = RunMarks(client, keys)
    reporter = RunReporter(runtime, marks, metrics)
    intake = SnapshotIntake(
        config=config,
        store=store,
        links=links,
        marks=marks,
        reporter=reporter,
        publisher=runtime,
    )
    planner = RunPlanner(
        config=config,
        store=store,
        links=links,
        marks=marks,
        reporter=reporter,
        publisher=runtime,
        metrics=metrics,
        clock=clock,
    )
    handlers = Handlers(runtime, intake, planner)
    runtime.subscribe(topics.DIRECTORY_EVENTS, group=GROUP, handler=handlers.on_directory_batch)
    runtime.subscribe(topics.CONFLUENCE_STATE, group=GROUP, handler=handlers.on_state_batch)
    DecisionHandler(runtime, planner).subscribe()  # approvals of held runs
    app = create_service_app(
        service=SERVICE, runtime=runtime, redis_client=client, registry=registry
    )
    app.include_router(plan_router(marks))
    return app


async def run(config: RosterConfig) -> None:
    configure_logging(SERVICE, level=config.log_level)
    await serve(build_app(config), config.reconciler.http)
