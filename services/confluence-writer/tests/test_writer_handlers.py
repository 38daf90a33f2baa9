"""The batch handler (with a hand-written fake runtime): per-key order, bounded concurrency
across keys, one result per command, snapshots on the state topic, no re-execution when only
publishing failed."""

from __future__ import annotations

import asyncio
import contextlib

from writer_support import FakeRuntime, by_key, cmd, delivery

from roster.shared import topics
from roster.shared.ids import command_id
from roster.shared.messages.commands import (
    AddMembership,
    CreateUser,
    DeactivateUser,
    ReactivateUser,
    ReadConfluenceState,
)
from roster.shared.messages.results import CommandSucceeded
from roster.shared.messages.state import ConfluenceStateCompleted, ConfluenceStatePage
from roster.writer.handlers import CommandHandler


async def test_keys_run_concurrently_and_each_key_in_order(make_sim, make_writer, control):
    app = make_sim("8.4")
    sim = control(app)
    await sim.seed({"users": [{"username": f"u{i}"} for i in range(6)], "groups": ["crew"]})
    await sim.faults(latency_ms=5)
    writer = make_writer(app)
    commands = []
    for round_ in range(3):
        for i in range(6):
            kind = DeactivateUser if round_ % 2 == 0 else ReactivateUser
            commands.append(cmd(kind, run=f"r{round_}", username=f"u{i}"))
    runtime = FakeRuntime()
    handler = CommandHandler(runtime, writer.executor, writer.reader, concurrency=3)
    await handler.on_batch(by_key(commands))

    assert 1 < runtime.peak <= 3
    keys = [key for _, key, _ in runtime.published]
    for i in range(6):
        mine = [m.operation for _, key, m in runtime.published if key == f"u{i}"]
        assert mine == ["DeactivateUser", "ReactivateUser", "DeactivateUser"]
    assert len(keys) == len(commands)
    writes = [e for e in await sim.log() if e["method"] == "PUT"]
    for i in range(6):
        ops = [e["op"] for e in writes if e["target"] == f"u{i}"]
        assert ops == ["disable_user", "enable_user", "disable_user"]


async def test_snapshot_request_answers_on_the_state_topic(make_sim, make_writer):
    writer = make_writer(make_sim("9.3"))
    runtime = FakeRuntime()
    handler = CommandHandler(runtime, writer.executor, writer.reader, concurrency=4)
    read = ReadConfluenceState(
        run_id="run-s", command_id=command_id("run-s", "read", "", {}), groups=["confluence-users"]
    )
    await handler.on_batch([delivery(read, "run-s")])
    families = {family for family, _, _ in runtime.published}
    assert families == {topics.CONFLUENCE_STATE}
    messages = [m for _, _, m in runtime.published]
    assert isinstance(messages[0], ConfluenceStatePage)
    assert isinstance(messages[-1], ConfluenceStateCompleted)
    assert messages[-1].pages == len(messages) - 1
    assert {key for _, key, _ in runtime.published} == {"run-s"}


class FlakyPublish(FakeRuntime):
    failures: int = 1

    async def publish(self, family, message, *, key):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker gone")
        await super().publish(family, message, key=key)


async def test_a_failed_publish_republishes_the_same_result(make_sim, make_writer, control):
    app = make_sim("8.4")
    writer = make_writer(app)
    runtime = FlakyPublish()
    handler = CommandHandler(runtime, writer.executor, writer.reader, concurrency=1)
    create = cmd(CreateUser, username="nia", display_name="Nia", email="nia@example.com")
    with contextlib.suppress(ConnectionError):
        await handler.handle(create)
    await handler.handle(create)  # what run_one's retry does
    [(_, key, result)] = runtime.published
    assert key == "nia"
    assert isinstance(result, CommandSucceeded)
    assert result.detail == ""  # the real outcome, not "replay"
    creates = [e for e in await control(app).log() if e["op"] == "create_user"]
    assert len(creates) == 1


async def test_membership_and_its_group_in_one_batch(make_sim, make_writer, control):
    """Commands of different keys overtake each other; both still succeed."""
    from roster.shared.messages.commands import CreateGroup

    app = make_sim("8.2")
    sim = control(app)
    await sim.seed({"users": [{"username": f"m{i}"} for i in range(8)]})
    writer = make_writer(app)
    commands = [cmd(AddMembership, username=f"m{i}", group="fresh") for i in range(8)]
    commands.insert(4, cmd(CreateGroup, group="fresh"))
    runtime = FakeRuntime()
    handler = CommandHandler(runtime, writer.executor, writer.reader, concurrency=8)
    await asyncio.wait_for(handler.on_batch(by_key(commands)), 30)
    assert all(isinstance(m, CommandSucceeded) for _, _, m in runtime.published)
    assert len(runtime.published) == 9
    assert (await sim.state())["memberships"]["fresh"] == [f"m{i}" for i in range(8)]
    creates = [e for e in await sim.log() if e["op"] == "create_group"]
    assert sum(1 for e in creates if e["effect"] == "applied") == 1


async def test_batch_out_of_time_answers_every_command_unexecuted(make_sim, make_writer, control):
    app = make_sim("8.4")
    writer = make_writer(app)
    commands = [cmd(DeactivateUser, username=f"x{i}") for i in range(5)]
    read = ReadConfluenceState(run_id="run-d", command_id=command_id("run-d", "read", "", {}))
    runtime = FakeRuntime()
    handler = CommandHandler(
        runtime, writer.executor, writer.reader, concurrency=2, budget_seconds=0.0
    )
    await handler.on_batch([*by_key(commands), delivery(read, "run-d")])
    results = [m for family, _, m in runtime.published if family == topics.CONFLUENCE_RESULTS]
    assert len(results) == 5
    assert all(not r.permanent and r.error.startswith("not executed") for r in results)
    [(_, _, marker)] = [p for p in runtime.published if p[0] == topics.CONFLUENCE_STATE]
    assert isinstance(marker, ConfluenceStateCompleted)
    assert marker.error
    assert await control(app).log() == []  # nothing was sent to Confluence
