"""SnapshotRunner and the sync-request handler with a recording publisher (no Kafka)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from roster.fetcher.core.snapshot import GroupMembers, SnapshotItem
from roster.fetcher.deltas import DeltaRunner
from roster.fetcher.handlers import SyncRequestHandler
from roster.fetcher.metrics import FetcherMetrics
from roster.fetcher.snapshots import SnapshotRunner
from roster.shared import topics
from roster.shared.errors import TransientError
from roster.shared.messages.base import Message
from roster.shared.messages.directory import (
    GroupObserved,
    IdpGroup,
    IdpUser,
    SnapshotCompleted,
    SnapshotFailed,
    SnapshotStarted,
    UserObserved,
)
from roster.shared.messages.runs import RunFailed, RunProgress
from roster.shared.messages.sync import SyncRequested


class RecordingPublisher:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, Message]] = []
        self.batches: list[int] = []

    async def publish(self, family: str, message: Message, *, key: str) -> None:
        self.records.append((family, key, message))

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None:
        self.batches.append(len(items))
        self.records += [(family, key, m) for key, m in items]

    def on(self, family: str) -> list[Message]:
        return [m for f, _, m in self.records if f == family]

    async def run_each(self, deliveries: Sequence[Any], handle: Any, *, group: str) -> None:
        for delivery in deliveries:
            await handle(delivery)

    async def run_one(self, delivery: Any, handle: Any, *, group: str) -> None:
        await handle(delivery.message)


class MemoryCursors:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, directory: str) -> str | None:
        return self.values.get(directory)

    async def put(self, directory: str, cursor: str) -> None:
        self.values[directory] = cursor


class Delivered:
    """The part of a Kafka `Delivery` the handler reads."""

    def __init__(self, message: Message) -> None:
        self.message = message


class ScriptedConnector:
    """A connector fake that yields a fixed script, then raises `fail` if given."""

    kind = "keycloak"
    directory = "kc"

    def __init__(self, items: list[SnapshotItem], fail: BaseException | None = None) -> None:
        self.items = items
        self.fail = fail
        self.closed = False

    async def snapshot(self) -> AsyncIterator[SnapshotItem]:
        try:
            for item in self.items:
                yield item
            if self.fail is not None:
                raise self.fail
        finally:
            self.closed = True

    async def fetch_user(self, subject: str) -> IdpUser | None:
        return None

    async def check(self) -> None:
        return None


def users(n: int) -> list[SnapshotItem]:
    return [IdpUser(subject=f"s{i}", login=f"u{i}") for i in range(n)]


def request(**kw: Any) -> SyncRequested:
    return SyncRequested(run_id="run-1", directory="kc", **kw)


def runner(publisher: RecordingPublisher, **kw: Any) -> tuple[SnapshotRunner, CollectorRegistry]:
    registry = CollectorRegistry()
    return SnapshotRunner(publisher, FetcherMetrics(registry), **kw), registry


GROUP = IdpGroup(id="g", name="g", path="/g")


async def test_a_full_snapshot_in_order_with_batches_and_progress() -> None:
    publisher = RecordingPublisher()
    script = users(1200) + [GroupMembers(GROUP, tuple(f"s{i}" for i in range(250)), last=True)]
    run, registry = runner(publisher, member_chunk=100, batch_size=500, progress_every=500)
    outcome = await run.run(request(dry_run=True, trigger="schedule"), ScriptedConnector(script))

    events = publisher.on(topics.DIRECTORY_EVENTS)
    assert isinstance(events[0], SnapshotStarted)
    assert (events[0].dry_run, events[0].trigger) == (True, "schedule")
    assert all(isinstance(e, UserObserved) for e in events[1:1201])
    chunks = [e for e in events if isinstance(e, GroupObserved)]
    assert [(len(c.members), c.chunk, c.last_chunk) for c in chunks] == [
        (100, 0, False),
        (100, 1, False),
        (50, 2, True),
    ]
    assert events[-1] == SnapshotCompleted(
        message_id=events[-1].message_id,
        occurred_at=events[-1].occurred_at,
        run_id="run-1",
        directory="kc",
        users=1200,
        groups=1,
        memberships=250,
        chunks=3,
    )
    assert all(key == "kc" for f, key, _ in publisher.records if f == topics.DIRECTORY_EVENTS)
    assert max(publisher.batches) <= 500
    progress = publisher.on(topics.RUN_EVENTS)
    assert [(p.phase, p.done) for p in progress if isinstance(p, RunProgress)] == [
        ("fetching", 500),
        ("fetching", 1000),
    ]
    assert outcome.error is None
    assert registry.get_sample_value("roster_fetcher_users_total", {"directory": "kc"}) == 1200
    assert (
        registry.get_sample_value(
            "roster_fetcher_snapshots_total", {"directory": "kc", "outcome": "completed"}
        )
        == 1
    )


@pytest.mark.parametrize(
    ("fail", "cause"),
    [
        (TransientError("Keycloak answered 503 to GET /users (gave up after 6 attempts)"), "503"),
        (KeyError("username"), "unexpected KeyError"),
    ],
)
async def test_a_failing_connector_never_looks_like_an_empty_directory(fail, cause) -> None:
    publisher = RecordingPublisher()
    connector = ScriptedConnector(users(700), fail=fail)
    run, registry = runner(publisher, member_chunk=100, batch_size=500)
    outcome = await run.run(request(), connector)

    events = publisher.on(topics.DIRECTORY_EVENTS)
    assert isinstance(events[0], SnapshotStarted)
    assert not any(isinstance(e, SnapshotCompleted) for e in events)
    assert isinstance(events[-1], SnapshotFailed)
    (failed,) = [m for m in publisher.on(topics.RUN_EVENTS) if isinstance(m, RunFailed)]
    assert failed.error == events[-1].error
    assert failed.error.startswith("directory 'kc' (keycloak): snapshot failed after 700 users: ")
    assert cause in failed.error
    assert outcome.error is not None
    assert connector.closed
    assert (
        registry.get_sample_value(
            "roster_fetcher_snapshots_total", {"directory": "kc", "outcome": "failed"}
        )
        == 1
    )


async def test_a_connector_breaking_the_stream_contract_fails_the_run() -> None:
    publisher = RecordingPublisher()
    script: list[SnapshotItem] = [GroupMembers(GROUP, ("a",), last=False)]
    outcome = await runner(publisher, member_chunk=10)[0].run(request(), ScriptedConnector(script))
    assert outcome.error is not None
    assert "no last member page" in outcome.error
    assert isinstance(publisher.on(topics.DIRECTORY_EVENTS)[-1], SnapshotFailed)


def handler(publisher: RecordingPublisher, kinds: dict[str, str]) -> SyncRequestHandler:
    from roster.shared.config import DirectorySettings

    served = {
        d: DirectorySettings.model_construct(id=d, kind=k)  # only id and kind are read
        for d, k in kinds.items()
    }
    connectors = {d: ScriptedConnector(users(3)) for d, k in kinds.items() if k == "keycloak"}
    return SyncRequestHandler(
        runtime=publisher,  # type: ignore[arg-type]
        runner=DeltaRunner(publisher, runner(publisher, member_chunk=10)[0], MemoryCursors()),
        served=served,
        connectors=connectors,  # type: ignore[arg-type]
        group="fetcher",
    )


async def test_requests_for_other_directories_are_ignored() -> None:
    publisher = RecordingPublisher()
    await handler(publisher, {"kc": "keycloak"}).handle(
        SyncRequested(run_id="r", directory="elsewhere")
    )
    assert publisher.records == []


@pytest.mark.parametrize(
    ("mode", "kind", "reason"),
    [
        ("delta", "keycloak", "kind keycloak has no incremental sync yet"),
        ("single", "keycloak", "kind keycloak cannot read a user's groups yet"),
        ("full", "okta", "no connector for kind okta yet"),
    ],
)
async def test_what_cannot_be_done_yet_is_answered_with_run_failed(mode, kind, reason) -> None:
    publisher = RecordingPublisher()
    await handler(publisher, {"kc": kind}).handle(
        SyncRequested(run_id="r", directory="kc", mode=mode, subject="s")
    )
    ((family, key, message),) = publisher.records
    assert (family, key) == (topics.RUN_EVENTS, "r")
    assert isinstance(message, RunFailed)
    assert message.error == f"directory 'kc': {reason}"


async def test_a_full_request_runs_a_snapshot() -> None:
    publisher = RecordingPublisher()
    await handler(publisher, {"kc": "keycloak"}).on_batch([Delivered(request())])
    kinds = [type(m).__name__ for m in publisher.on(topics.DIRECTORY_EVENTS)]
    assert kinds == [
        "SnapshotStarted",
        "UserObserved",
        "UserObserved",
        "UserObserved",
        "SnapshotCompleted",
    ]
