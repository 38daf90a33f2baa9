"""A reconciler without Kafka for component tests: real Redis, recording publisher, fake writer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis
from prometheus_client import CollectorRegistry
from reconciler_support import ISSUED

from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.adapters.runs import RunMarks
from roster.reconciler.adapters.snapshots import SnapshotStore
from roster.reconciler.core.apply import apply
from roster.reconciler.core.plan import Plan
from roster.reconciler.core.state import ActualState
from roster.reconciler.intake import SnapshotIntake
from roster.reconciler.metrics import ReconcilerMetrics
from roster.reconciler.planner import RunPlanner
from roster.reconciler.reporting import RunReporter
from roster.shared.config import RosterConfig
from roster.shared.messages.base import Message
from roster.shared.messages.commands import ReadConfluenceState, WriteCommand
from roster.shared.messages.directory import (
    DirectoryEvent,
    GroupObserved,
    IdpGroup,
    IdpUser,
    SnapshotCompleted,
    SnapshotStarted,
    UserObserved,
)
from roster.shared.messages.runs import PlanSummary
from roster.shared.messages.state import ConfluenceStateCompleted, ConfluenceStatePage
from roster.shared.redisdb import Keys


@dataclass
class RecordingPublisher:
    sent: list[tuple[str, str, Message]] = field(default_factory=list)

    async def publish(self, family: str, message: Message, *, key: str) -> None:
        self.sent.append((family, key, message))

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None:
        self.sent += [(family, key, message) for key, message in items]

    def of(self, family: str, run_id: str | None = None) -> list[Any]:
        return [m for f, _, m in self.sent if f == family and run_id in (None, m.run_id)]

    def keys(self, family: str) -> list[str]:
        return [k for f, k, _ in self.sent if f == family]


def snapshot_events(
    run_id: str,
    users: Sequence[IdpUser],
    groups: dict[str, list[str]],
    *,
    dry_run: bool = False,
    directory: str = "kc",
) -> list[DirectoryEvent]:
    """The records a fetcher publishes for one snapshot (members in chunks of 2)."""
    events: list[DirectoryEvent] = [
        SnapshotStarted(run_id=run_id, directory=directory, dry_run=dry_run)
    ]
    events += [UserObserved(run_id=run_id, directory=directory, user=u) for u in users]
    memberships = 0
    for name, subjects in groups.items():
        parts = [subjects[i : i + 2] for i in range(0, len(subjects), 2)] or [[]]
        for n, part in enumerate(parts):
            group = IdpGroup(id=f"g-{name}", name=name)
            last = n == len(parts) - 1
            events.append(
                GroupObserved(
                    run_id=run_id,
                    directory=directory,
                    group=group,
                    members=part,
                    chunk=n,
                    last_chunk=last,
                )
            )
            memberships += len(part)
    events.append(
        SnapshotCompleted(
            run_id=run_id,
            directory=directory,
            users=len(users),
            groups=len(groups),
            memberships=memberships,
        )
    )
    return events


def answer(request: ReadConfluenceState, state: ActualState) -> list[Message]:
    """What the writer publishes for `request`: pages of two users, then the marker."""
    users = sorted(state.users.values(), key=lambda u: u.username)
    members = {g: sorted(state.members_of(g)) for g in request.groups if g in state.groups}
    chunks = [users[i : i + 2] for i in range(0, len(users), 2)] or [[]]
    pages: list[Message] = [
        ConfluenceStatePage(
            run_id=request.run_id,
            page=n,
            users=chunk,
            groups=sorted(state.groups) if n == 0 else [],
            members=members if n == len(chunks) - 1 else {},
        )
        for n, chunk in enumerate(chunks)
    ]
    done = ConfluenceStateCompleted(
        run_id=request.run_id, pages=len(pages), users=len(users), groups=len(state.groups)
    )
    return [*pages, done]


def execute(commands: Sequence[WriteCommand], state: ActualState) -> ActualState:
    """The fake writer: Confluence after `commands` succeeded (links are not its business)."""
    plan = Plan("w", "kc", tuple(commands), PlanSummary(), (), ())
    return apply(plan, state)


class Reconciler:
    """Intake and planner wired as `build_app` wires them, minus Kafka."""

    def __init__(self, client: redis.Redis, keys: Keys, config: RosterConfig) -> None:
        self.publisher = RecordingPublisher()
        self.registry = CollectorRegistry()
        self.metrics = ReconcilerMetrics(self.registry)
        self.store = SnapshotStore(client, keys)
        self.links = LinkStore(client, keys)
        self.marks = RunMarks(client, keys)
        reporter = RunReporter(self.publisher, self.marks, self.metrics)
        deps: dict[str, Any] = {
            "config": config,
            "store": self.store,
            "links": self.links,
            "marks": self.marks,
            "reporter": reporter,
            "publisher": self.publisher,
        }
        self.intake = SnapshotIntake(**deps)
        self.planner = RunPlanner(**deps, metrics=self.metrics, clock=lambda: ISSUED)

    async def directory_events(self, events: Sequence[DirectoryEvent]) -> None:
        for event in events:
            if isinstance(event, SnapshotStarted):
                await self.intake.started(event)
            elif isinstance(event, UserObserved | GroupObserved):
                await self.intake.observed([event])
            elif isinstance(event, SnapshotCompleted):
                await self.intake.completed(event)

    async def state(self, messages: Sequence[Message]) -> None:
        for message in messages:
            if isinstance(message, ConfluenceStatePage):
                await self.planner.page(message)
            elif isinstance(message, ConfluenceStateCompleted):
                await self.planner.completed(message)

    def metric(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)
