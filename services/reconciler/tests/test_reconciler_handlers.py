"""The Kafka edges without a broker: batch segmentation, bulk storing and its fallback."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry
from reconciler_flow import snapshot_events
from reconciler_support import idp

from roster.reconciler.core.desired import DesiredState, DesiredUser
from roster.reconciler.core.reading import read_scope
from roster.reconciler.handlers import Handlers, segments
from roster.shared import topics
from roster.shared.config import KafkaSettings
from roster.shared.delivery import Retrier, RetryPolicy
from roster.shared.kafka import Delivery, KafkaRuntime
from roster.shared.messages.directory import UserChanged

EVENTS = snapshot_events("r1", [idp("ada"), idp("bob")], {"Eng": ["s-ada"]})


def delivery(message: Any, offset: int = 0) -> Delivery:
    return Delivery(topics.DIRECTORY_EVENTS, 0, offset, "kc", b"{}", message)


class FakeIntake:
    """Records calls; fails any bulk store of more than `bulk_limit` records."""

    def __init__(self, bulk_limit: int = 10_000) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.bulk_limit = bulk_limit

    async def observed(self, events: list[Any]) -> None:
        if len(events) > self.bulk_limit:
            raise ConnectionError("redis went away")
        self.calls.append(("observed", [e.type for e in events]))

    async def started(self, event: Any) -> None:
        self.calls.append(("started", event.run_id))

    async def completed(self, event: Any) -> None:
        self.calls.append(("completed", event.run_id))

    async def failed(self, event: Any) -> None:
        self.calls.append(("failed", event.run_id))


async def no_sleep(seconds: float) -> None:
    return None


def handlers(intake: FakeIntake) -> tuple[Handlers, CollectorRegistry]:
    registry = CollectorRegistry()
    retrier = Retrier(RetryPolicy(max_attempts=2), sleep=no_sleep)
    runtime = KafkaRuntime(
        KafkaSettings(), service="reconciler", registry=registry, retrier=retrier
    )
    return Handlers(runtime, intake, planner=None), registry  # type: ignore[arg-type]


def test_segments_keep_order_and_group_only_observations() -> None:
    batch = [delivery(e, i) for i, e in enumerate(EVENTS + EVENTS[:2])]
    shape = [(bulk, [d.offset for d in part]) for bulk, part in segments(batch)]
    assert shape == [
        (False, [0]),
        (True, [1, 2, 3]),
        (False, [4]),
        (False, [5]),
        (True, [6]),
    ]


async def test_observations_are_stored_in_one_call_and_every_record_is_counted() -> None:
    intake = FakeIntake()
    edge, registry = handlers(intake)
    await edge.on_directory_batch([delivery(e, i) for i, e in enumerate(EVENTS)])
    assert intake.calls == [
        ("started", "r1"),
        ("observed", ["UserObserved", "UserObserved", "GroupObserved"]),
        ("completed", "r1"),
    ]
    labels = {"topic": topics.DIRECTORY_EVENTS, "outcome": "ok"}
    assert registry.get_sample_value("roster_reconciler_records_total", labels) == 5


async def test_a_failing_bulk_store_falls_back_to_one_record_at_a_time() -> None:
    intake = FakeIntake(bulk_limit=1)
    edge, _ = handlers(intake)
    await edge.on_directory_batch([delivery(e, i) for i, e in enumerate(EVENTS[1:4])])
    assert intake.calls == [
        ("observed", ["UserObserved"]),
        ("observed", ["UserObserved"]),
        ("observed", ["GroupObserved"]),
    ]


async def test_delta_events_are_stored_like_observations() -> None:
    intake = FakeIntake()
    edge, _ = handlers(intake)
    await edge.handle_directory_event(UserChanged(run_id="r", directory="kc", user=idp("ada")))
    assert intake.calls == [("observed", ["UserChanged"])]


def test_the_read_request_stays_within_its_budget_linked_users_first() -> None:
    users = {
        f"user{i}": DesiredUser(f"user{i}", f"s{i}", f"user{i}", "U", "u@x.io", True)
        for i in range(10)
    }
    desired = DesiredState("kc", users=users, default_groups=("staff",))
    whole = read_scope(desired, ["old", "user3"], budget=10_000)
    assert whole.groups == ("staff",)
    assert whole.usernames[:2] == ("old", "user3")
    assert (len(whole.usernames), whole.left_out) == (11, 0)
    tight = read_scope(desired, ["old", "user3"], budget=8 + 6 + 8 * 3 - 1)
    assert (tight.usernames, tight.left_out) == (("old", "user3", "user0"), 8)
