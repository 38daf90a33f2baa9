"""Phase two of a run: store Confluence's state pages, then plan and publish the commands.

With every page stored, snapshots and links are loaded, `core.plan` decides, links are
recorded, the commands go out in order, then `RunPlanned`. A dry run publishes only
`RunPlanned` and keeps its plan in Redis. `core.safety` may hold a run instead (plan
stored, only `RunHeld`) until `RunApproved` (executed once) or `RunRejected` ends it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from roster.reconciler.adapters.directory_state import DirectoryStateStore
from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.adapters.rule_inputs import RuleInputs
from roster.reconciler.adapters.runs import (
    RunMarks,
    document_commands,
    document_links,
    document_summary,
)
from roster.reconciler.adapters.safety import SafetyStore
from roster.reconciler.adapters.snapshots import RunMeta, SnapshotCounts, SnapshotStore
from roster.reconciler.core.desired import build_desired
from roster.reconciler.core.plan import Plan
from roster.reconciler.core.planned import CLEANUP_TRIGGER, cleanup_only, plan_with_rules
from roster.reconciler.core.policy import Policy
from roster.reconciler.core.safety import SafetyFacts, Verdict, judge, removals
from roster.reconciler.core.state import NewLink
from roster.reconciler.intake import directory_settings
from roster.reconciler.metrics import ReconcilerMetrics
from roster.reconciler.reporting import Publisher, RunReporter
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.errors import TransientError
from roster.shared.messages.commands import WriteCommand
from roster.shared.messages.decisions import RunApproved, RunRejected
from roster.shared.messages.runs import RunCompleted, RunHeld
from roster.shared.messages.state import ConfluenceStateCompleted, ConfluenceStatePage
from roster.shared.settings.safety import SafetySettings

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
        if meta.trigger == CLEANUP_TRIGGER:
            planned = cleanup_only(planned, actual, rules)
        if not meta.dry_run and meta.mode == "full":
            await inputs.record(planned, now)
        return planned.plan

    async def _emit(self, result: Plan, meta: RunMeta) -> None:
        if meta.dry_run:
            await self.marks.store_plan(result, status="dry-run", mode=meta.mode)
        else:
            counts = await self.store.stored_counts(meta.run_id) if meta.mode == "full" else None
            verdict = await self._judge(result, meta, counts)
            if verdict.hold:
                await self._hold(result, meta, verdict.reason, counts)
                return
            await self._publish(meta.run_id, meta.directory, result.links, result.commands)
            await self._published(meta.directory, meta.run_id, result.commands, counts)
        commands = 0 if meta.dry_run else len(result.commands)
        await self.reporter.planned(
            meta.run_id, meta.directory, result.summary, commands=commands, dry_run=meta.dry_run
        )
        for note in result.notes:
            log.info("plan note", note=note)

    # ------------------------------------------------------------ safety net and approvals

    @property
    def safety(self) -> SafetyStore:
        return SafetyStore(self.store.redis, self.store.keys)

    def _limits(self, directory: str) -> SafetySettings:
        settings = directory_settings(self.config, directory)
        return settings.safety if settings is not None else SafetySettings()

    async def _judge(self, result: Plan, meta: RunMeta, counts: SnapshotCounts | None) -> Verdict:
        limits = self._limits(meta.directory)
        full = meta.mode == "full"
        facts = SafetyFacts(
            mode=meta.mode,
            removals=removals(result.summary),
            managed=await self.safety.managed(meta.directory),
            snapshot_users=counts.users if counts is not None else None,
            last_good_users=await self.safety.last_good_users(meta.directory) if full else None,
            window_removals=0
            if full
            else await self.safety.window_removals(
                meta.directory, self.clock(), limits.window_minutes
            ),
        )
        return judge(facts, limits)

    async def _hold(
        self, result: Plan, meta: RunMeta, reason: str, counts: SnapshotCounts | None
    ) -> None:
        """Store the plan with its reason, publish `RunHeld`, and never plan this run again."""
        snapshot = dataclasses.asdict(counts) if counts is not None else None
        await self.marks.store_plan(
            result, status="held", mode=meta.mode, hold_reason=reason, snapshot=snapshot
        )
        held = RunHeld(
            run_id=meta.run_id, directory=meta.directory, reason=reason, summary=result.summary
        )
        await self.publisher.publish(topics.RUN_EVENTS, held, key=meta.run_id)
        await self.marks.mark_planned(meta.run_id, "held")
        self.metrics.plans.labels(meta.directory, "held").inc()
        log.warning("run held for approval", reason=reason, **result.summary.model_dump())

    async def _publish(
        self,
        run_id: str,
        directory: str,
        links: Sequence[NewLink],
        commands: Sequence[WriteCommand],
    ) -> None:
        refused = await self.links.record(directory, links)
        if refused:
            # another directory or subject linked these usernames meanwhile: re-plan
            names = ", ".join(link.username for link in refused[:5])
            raise TransientError(f"{len(refused)} usernames were linked meanwhile: {names}")
        await self.publisher.publish_many(
            topics.CONFLUENCE_COMMANDS, [(c.key, c) for c in commands]
        )
        for command in commands:
            self.metrics.commands.labels(command.type).inc()

    async def _published(
        self,
        directory: str,
        run_id: str,
        commands: Sequence[WriteCommand],
        counts: SnapshotCounts | None,
    ) -> None:
        """Commands went out: a full snapshot (`counts`) is the directory's last good size
        from now on; a delta or single run's removals count in the rolling window."""
        now = self.clock()
        if counts is not None:
            await self.safety.set_last_good(directory, run_id, counts, now)
        else:
            await self.safety.add_removals(directory, commands, now)

    async def approve(self, decision: RunApproved) -> None:
        """Execute a held plan once: links, commands, `RunPlanned`; a replay finds the run
        planned and does nothing."""
        run_id, directory = decision.run_id, decision.directory
        if (outcome := await self.marks.planned(run_id)) != "held":
            log.info("approval ignored: run not held", outcome=outcome, by=decision.by)
            return
        document = await self.marks.load_plan(run_id)
        if document is None:
            await self.reporter.fail(run_id, directory, "the held plan expired before approval")
            return
        directory = str(document["directory"])
        commands = document_commands(document)
        snapshot = document.get("snapshot")
        counts = SnapshotCounts(**snapshot) if snapshot else None
        try:
            await self._publish(run_id, directory, document_links(document), commands)
        except TransientError as exc:  # a held plan cannot be re-planned: give up on it
            await self.reporter.fail(run_id, directory, f"approved plan is stale: {exc}")
            return
        await self._published(directory, run_id, commands, counts)
        await self.marks.decide_plan(run_id, "approved", decision.by)
        log.warning("held run approved", by=decision.by, commands=len(commands))
        summary = document_summary(document)
        await self.reporter.planned(
            run_id, directory, summary, commands=len(commands), dry_run=False
        )
        meta = await self.store.meta(run_id)
        if meta is not None:  # makes an executed run the base of later deltas
            await DirectoryStateStore.of(self.store).settle(meta, "planned")

    async def reject(self, decision: RunRejected) -> None:
        """Close a held run without executing it: `RunCompleted(status="rejected")`."""
        run_id = decision.run_id
        if (outcome := await self.marks.planned(run_id)) != "held":
            log.info("rejection ignored: run not held", outcome=outcome, by=decision.by)
            return
        document = await self.marks.load_plan(run_id) or {}
        directory = str(document.get("directory", decision.directory))
        completed = RunCompleted(
            run_id=run_id,
            directory=directory,
            status="rejected",
            summary=document_summary(document),
        )
        await self.marks.decide_plan(run_id, "rejected", decision.by)
        await self.publisher.publish(topics.RUN_EVENTS, completed, key=run_id)
        await self.marks.mark_planned(run_id, "rejected")
        self.metrics.plans.labels(directory, "rejected").inc()
        log.warning("held run rejected", by=decision.by)
