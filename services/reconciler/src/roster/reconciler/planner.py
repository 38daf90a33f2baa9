"""Phase two of a run: store Confluence's state pages, then plan and publish the commands.

On `ConfluenceStateCompleted` with every page stored, both snapshots and the link table
are loaded, `core.plan` decides, links of adopted and created users are recorded, and the
commands go out in plan order, then `RunPlanned`. A dry run records and publishes nothing
but `RunPlanned`; its plan is kept in Redis for display.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog

from roster.reconciler.adapters.directory_state import DirectoryStateStore
from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.adapters.rule_inputs import RuleInputs
from roster.reconciler.adapters.runs import RunMarks
from roster.reconciler.adapters.snapshots import RunMeta, SnapshotStore
from roster.reconciler.core.desired import build_desired
from roster.reconciler.core.plan import Plan
from roster.reconciler.core.planned import plan_with_rules
from roster.reconciler.core.policy import Policy
from roster.reconciler.intake import directory_settings
from roster.reconciler.metrics import ReconcilerMetrics
from roster.reconciler.reporting import Publisher, RunReporter
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.errors import TransientError
from roster.shared.messages.state import ConfluenceStateCompleted, ConfluenceStatePage

log = structlog.get_logger()
Clock = Callable[[], datetime]
NO_SNAPSHOT = "no stored IdP snapshot for this run (expired, or never seen)"


def state_problem(meta: RunMeta, done: ConfluenceStateCompleted, pages: int) -> str | None:
    """Why this run cannot be planned now, or None."""
    if meta.status != "completed":
        return f"the IdP snapshot of this run is {meta.status}, not completed"
    if done.error is not None:
        return f"reading Confluence failed: {done.error}"
    if pages < done.pages:
        return f"Confluence state incomplete: {pages} of {done.pages} pages stored"
    return None


class RunPlanner:
    def __init__(
        self,
        *,
        config: RosterConfig,
        store: SnapshotStore,
        links: LinkStore,
        marks: RunMarks,
        reporter: RunReporter,
        publisher: Publisher,
        metrics: ReconcilerMetrics,
        clock: Clock,
    ) -> None:
        self.config = config
        self.store = store
        self.links = links
        self.marks = marks
        self.reporter = reporter
        self.publisher = publisher
        self.metrics = metrics
        self.clock = clock

    async def page(self, page: ConfluenceStatePage) -> None:
        await self.store.add_page(page)

    async def completed(self, done: ConfluenceStateCompleted) -> None:
        if (outcome := await self.marks.planned(done.run_id)) is not None:
            log.info("run already planned", outcome=outcome)
            return
        meta = await self.store.meta(done.run_id)
        if meta is None:
            await self.reporter.fail(done.run_id, "unknown", NO_SNAPSHOT)
            return
        problem = state_problem(meta, done, await self.store.pages(done.run_id))
        if problem is not None:
            await self.reporter.fail(done.run_id, meta.directory, problem)
            return
        with structlog.contextvars.bound_contextvars(directory=meta.directory):
            result = await self._plan(meta)
            states = DirectoryStateStore.of(self.store)
            result = await states.filter_plan(result, meta)  # delta runs: affected only
            await self._emit(result, meta)
            await states.settle(meta, await self.marks.planned(meta.run_id))

    async def _plan(self, meta: RunMeta) -> Plan:
        settings = directory_settings(self.config, meta.directory)
        if settings is None:  # configuration changed since the snapshot started
            raise TransientError(f"directory '{meta.directory}' is not configured")
        inputs = await RuleInputs.load(self.links, self.config.confluence, meta.directory)
        subjects = {**inputs.co_links, **await self.links.subjects(meta.directory)}
        actual = await self.store.load_confluence(meta.run_id, await self.links.owners())
        snapshot = await self.store.load_idp(meta.run_id)
        policy = Policy.from_settings(settings, self.config.confluence)
        rules = inputs.rules(settings)
        now = self.clock()
        # seconds of CPU for 100,000 users: off the event loop, so consumers keep heartbeating
        planned = await asyncio.to_thread(
            lambda: plan_with_rules(
                build_desired(snapshot, settings, subjects, watch_groups=rules.admin_groups),
                actual,
                policy,
                rules,
                run_id=meta.run_id,
                issued_at=now,
            )
        )
        if not meta.dry_run and meta.mode == "full":
            await inputs.record(planned, now)
        return planned.plan

    async def _emit(self, result: Plan, meta: RunMeta) -> None:
        if meta.dry_run:
            await self.marks.store_plan(result)
        else:
            refused = await self.links.record(meta.directory, result.links)
            if refused:
                # another directory or subject linked these usernames meanwhile: re-plan
                names = ", ".join(link.username for link in refused[:5])
                raise TransientError(f"{len(refused)} usernames were linked meanwhile: {names}")
            items = [(c.key, c) for c in result.commands]
            await self.publisher.publish_many(topics.CONFLUENCE_COMMANDS, items)
            for command in result.commands:
                self.metrics.commands.labels(command.type).inc()
        commands = 0 if meta.dry_run else len(result.commands)
        await self.reporter.planned(
            meta.run_id, meta.directory, result.summary, commands=commands, dry_run=meta.dry_run
        )
        for note in result.notes:
            log.info("plan note", note=note)
