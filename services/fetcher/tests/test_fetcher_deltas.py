"""DeltaRunner and the handler's coalescing with a recording publisher and the simulator."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from test_fetcher_runner import Delivered, MemoryCursors, RecordingPublisher

from roster.fetcher.deltas import DeltaRunner
from roster.fetcher.handlers import SyncRequestHandler
from roster.fetcher.metrics import FetcherMetrics
from roster.fetcher.snapshots import SnapshotRunner
from roster.shared import topics
from roster.shared.config import DirectorySettings
from roster.shared.messages.directory import (
    GroupChanged,
    MembershipAdded,
    SnapshotCompleted,
    SnapshotStarted,
    UserChanged,
    UserRemoved,
)
from roster.shared.messages.runs import RunPlanned, RunProgress
from roster.shared.messages.sync import SyncRequested


def delta_runner(publisher: RecordingPublisher, cursors: MemoryCursors) -> DeltaRunner:
    metrics = FetcherMetrics(CollectorRegistry())
    return DeltaRunner(publisher, SnapshotRunner(publisher, metrics, member_chunk=50), cursors)


def req(run_id: str, mode: str = "delta", **extra: Any) -> SyncRequested:
    return SyncRequested(run_id=run_id, directory="kc", mode=mode, **extra)  # type: ignore[arg-type]


def directory_events(publisher: RecordingPublisher, run_id: str) -> list[Any]:
    return [m for m in publisher.on(topics.DIRECTORY_EVENTS) if m.run_id == run_id]


async def test_full_then_delta_then_expired_cursor(make_sim, http, connect, clock) -> None:
    sim = make_sim(users=60, groups=5, memberships=150, seed=2)
    ctl: httpx.AsyncClient = http(sim)
    connector = connect(sim)
    publisher, cursors = RecordingPublisher(), MemoryCursors()
    runner = delta_runner(publisher, cursors)

    # no cursor yet: a full snapshot instead, recorded as full, the reason as a phase
    await runner.delta(req("d0"), connector)
    (note,) = [m for m in publisher.on(topics.RUN_EVENTS) if m.run_id == "d0"]
    assert isinstance(note, RunProgress)
    assert note.phase == "full sync instead of delta: no cursor stored (no full sync yet)"
    events = directory_events(publisher, "d0")
    assert events[0].mode == "full"
    assert events[-1].users == 60
    assert "kc" in cursors.values

    uid = (await ctl.get("/_sim/directory")).json()["users"][0]["id"]
    clock.advance(1)
    assert (await ctl.patch(f"/_sim/users/{uid}", json={"lastName": "Changed"})).status_code == 200
    before = cursors.values["kc"]
    await runner.delta(req("d1"), connector)
    events = directory_events(publisher, "d1")
    assert [type(e) for e in events] == [SnapshotStarted, UserChanged, SnapshotCompleted]
    assert events[0].mode == "delta"
    assert events[1].user.family_name == "Changed"
    assert (events[-1].users, events[-1].groups, events[-1].memberships) == (1, 0, 0)
    assert cursors.values["kc"] != before

    # a dry-run delta publishes but does not move the cursor
    clock.advance(1)
    await ctl.patch(f"/_sim/users/{uid}", json={"lastName": "Again"})
    kept = cursors.values["kc"]
    await runner.delta(req("d2", dry_run=True), connector)
    assert directory_events(publisher, "d2")[0].dry_run is True
    assert cursors.values["kc"] == kept

    # the event log was cleared (expired): a full snapshot instead
    assert (await ctl.delete("/_sim/admin-events")).status_code == 200
    await runner.delta(req("d3"), connector)
    (note,) = [m for m in publisher.on(topics.RUN_EVENTS) if m.run_id == "d3"]
    assert note.phase.startswith("full sync instead of delta: cursor expired")
    assert directory_events(publisher, "d3")[0].mode == "full"


async def test_single_user_with_its_groups_and_an_unknown_one(make_sim, http, connect) -> None:
    sim = make_sim(users=30, groups=5, memberships=90, seed=4)
    directory = (await http(sim).get("/_sim/directory")).json()
    subject = next(iter(next(iter(directory["memberships"].values()))))
    wanted = {g for g, m in directory["memberships"].items() if subject in m}
    publisher = RecordingPublisher()
    runner = delta_runner(publisher, MemoryCursors())
    await runner.single(req("s1", "single", subject=subject), connect(sim))
    events = directory_events(publisher, "s1")
    assert events[0].mode == "single"
    assert isinstance(events[1], UserChanged)
    assert events[1].user.subject == subject
    assert {e.group_id for e in events if isinstance(e, MembershipAdded)} == wanted
    assert len([e for e in events if isinstance(e, GroupChanged)]) == len(wanted)
    done = events[-1]
    assert (done.users, done.groups, done.memberships) == (1, len(wanted), len(wanted))

    await runner.single(req("s2", "single", subject="gone"), connect(sim))
    assert [type(e) for e in directory_events(publisher, "s2")] == [
        SnapshotStarted,
        UserRemoved,
        SnapshotCompleted,
    ]


async def test_delta_requests_queued_together_run_once(make_sim, connect) -> None:
    sim = make_sim(users=20, groups=2, memberships=20)
    publisher, cursors = RecordingPublisher(), MemoryCursors()
    runner = delta_runner(publisher, cursors)
    connector = connect(sim)
    await runner.full(req("f", "full"), connector)
    served = {"kc": DirectorySettings.model_construct(id="kc", kind="keycloak")}
    handler = SyncRequestHandler(
        runtime=publisher,  # type: ignore[arg-type]
        runner=runner,
        served=served,
        connectors={"kc": connector},
        group="fetcher",
    )
    batch = [Delivered(req(f"q{i}")) for i in range(5)]
    await handler.on_batch(batch)  # type: ignore[arg-type]
    ran = {m.run_id for m in publisher.on(topics.DIRECTORY_EVENTS) if m.run_id.startswith("q")}
    assert ran == {"q4"}
    for run_id in ("q0", "q1", "q2", "q3"):
        note, planned = [m for m in publisher.on(topics.RUN_EVENTS) if m.run_id == run_id]
        assert note.phase == "coalesced into run q4"
        assert isinstance(planned, RunPlanned)
        assert planned.commands == 0
