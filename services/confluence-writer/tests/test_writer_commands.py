"""What each command does when Confluence says no: 402, 409 (adopt), 404 on memberships,
400 with Confluence's message, dry run, replays, and the read-first recovery path."""

from __future__ import annotations

import pytest
from writer_support import RUN, cmd, non_get

from roster.shared.messages.commands import (
    AddMembership,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeleteUser,
    RemoveMembership,
    UpdateUser,
)
from roster.shared.messages.results import CommandFailed, CommandSucceeded

OLD_AND_NEW = ["7.13", "8.4"]


@pytest.mark.parametrize("version", OLD_AND_NEW)
async def test_no_licence_seat_is_a_permanent_failure(make_sim, make_writer, control, version):
    app = make_sim(version, seats=1)  # admin holds the only seat
    writer = make_writer(app)
    create = cmd(CreateUser, username="zoe", display_name="Zoe", email="zoe@example.com")
    result = await writer.executor.execute(create)
    assert isinstance(result, CommandFailed)
    assert result.permanent
    assert result.status == 402
    assert result.error == "no Confluence licence seat left"
    assert result.run_id == RUN
    assert result.username == "zoe"
    assert "zoe" not in {u["username"] for u in (await control(app).state())["users"]}
    # a permanent failure is not remembered as done: a later delivery tries again
    assert await writer.ledger.done(create.command_id) is None


@pytest.mark.parametrize("version", [*OLD_AND_NEW, "9.3"])
async def test_existing_user_is_adopted_and_brought_in_line(
    make_sim, make_writer, control, version
):
    app = make_sim(version)
    sim = control(app)
    await sim.seed({"users": [{"username": "grace", "displayName": "G. Old",
                               "email": "g@old.example.com"}]})  # fmt: skip
    writer = make_writer(app)
    create = cmd(
        CreateUser, username="grace", display_name="Grace Hopper", email="grace@example.com"
    )
    result = await writer.executor.execute(create)
    assert isinstance(result, CommandSucceeded)
    assert result.detail == "adopted"
    assert result.user_key
    grace = next(u for u in (await sim.state())["users"] if u["username"] == "grace")
    assert (grace["displayName"], grace["email"]) == ("Grace Hopper", "grace@example.com")
    log = await sim.log()
    conflicts = [e for e in log if e["status"] == 409 or e["op"] == "rpc:addUser"]
    assert conflicts
    assert conflicts[0]["effect"] == "rejected"
    edits = [e for e in log if e["op"] in ("update_user", "rpc:editUser")]
    assert [e["op"] for e in edits] == ["update_user" if version == "9.3" else "rpc:editUser"]


async def test_adopting_an_identical_user_writes_nothing_more(make_sim, make_writer, control):
    app = make_sim("8.4")
    sim = control(app)
    await sim.seed(
        {"users": [{"username": "hal", "displayName": "Hal", "email": "hal@example.com"}]}
    )
    writer = make_writer(app)
    result = await writer.executor.execute(
        cmd(CreateUser, username="hal", display_name="Hal", email="hal@example.com")
    )
    assert isinstance(result, CommandSucceeded)
    assert result.detail == "adopted"
    assert [e["op"] for e in non_get(await sim.log()) if e["op"] != "rpc:getUserByName"] == [
        "create_user"
    ]


@pytest.mark.parametrize("version", OLD_AND_NEW)
async def test_membership_before_its_group_exists_creates_the_group(
    make_sim, make_writer, control, version
):
    app = make_sim(version)
    sim = control(app)
    await sim.seed({"users": [{"username": "ivy"}]})
    writer = make_writer(app)
    result = await writer.executor.execute(cmd(AddMembership, username="ivy", group="late-group"))
    assert isinstance(result, CommandSucceeded)
    assert result.detail == "group created"
    assert (await sim.state())["memberships"]["late-group"] == ["ivy"]
    # the group's own CreateGroup, arriving afterwards, is a no-op success
    late = await writer.executor.execute(cmd(CreateGroup, group="late-group"))
    assert isinstance(late, CommandSucceeded)
    assert late.noop


@pytest.mark.parametrize("version", OLD_AND_NEW)
async def test_membership_of_a_missing_user_is_retried_then_reported_transient(
    make_sim, make_writer, control, clock, version
):
    app = make_sim(version)
    sim = control(app)
    await sim.seed({"users": [], "groups": ["crew"]})
    writer = make_writer(app, max_attempts=4)
    result = await writer.executor.execute(cmd(AddMembership, username="ghost", group="crew"))
    assert isinstance(result, CommandFailed)
    assert not result.permanent
    assert result.status == 404
    assert "ghost" in result.error
    assert len(clock.sleeps) == 3  # backoff between the 4 attempts, on the fake clock
    assert (await sim.state())["memberships"]["crew"] == []


@pytest.mark.parametrize("version", OLD_AND_NEW)
async def test_removals_of_missing_things_are_noops(make_sim, make_writer, version):
    writer = make_writer(make_sim(version))
    for command in (
        cmd(DeleteUser, username="nobody"),
        cmd(DeactivateUser, username="nobody"),
        cmd(DeleteGroup, group="no-such-group"),
        cmd(RemoveMembership, username="nobody", group="confluence-users"),
        cmd(RemoveMembership, username="admin", group="no-such-group"),
    ):
        result = await writer.executor.execute(command)
        assert isinstance(result, CommandSucceeded), command
        assert result.noop


@pytest.mark.parametrize("version", OLD_AND_NEW)
async def test_rejections_carry_confluences_message(make_sim, make_writer, version):
    writer = make_writer(make_sim(version))
    last_admin = await writer.executor.execute(cmd(DeleteGroup, group="confluence-administrators"))
    assert isinstance(last_admin, CommandFailed)
    assert last_admin.permanent
    assert "last admin group" in last_admin.error
    invalid = await writer.executor.execute(
        cmd(CreateUser, username="bad", display_name="Bad", email="not-an-email")
    )
    assert isinstance(invalid, CommandFailed)
    assert invalid.permanent
    assert invalid.status == 400
    assert "not a valid email" in invalid.error
    missing = await writer.executor.execute(
        cmd(UpdateUser, username="nobody", display_name="N", email="n@example.com")
    )
    assert isinstance(missing, CommandFailed)
    assert missing.permanent
    assert missing.status == 404


@pytest.mark.parametrize("version", ["7.13", "9.3"])
async def test_dry_run_sends_no_write(make_sim, make_writer, control, version):
    from writer_support import scenario, scenario_seed

    app = make_sim(version)
    sim = control(app)
    await sim.seed(scenario_seed())
    before = await sim.state()
    writer = make_writer(app, dry_run=True)
    results = [await writer.executor.execute(c) for c in scenario()]
    assert all(isinstance(r, CommandFailed) and r.permanent for r in results)
    assert {r.error for r in results if isinstance(r, CommandFailed)} == {"dry run"}
    assert non_get(await sim.log()) == []
    assert await sim.state() == before


async def test_replay_is_a_noop_without_requests(make_sim, make_writer, control):
    app = make_sim("8.4")
    sim = control(app)
    writer = make_writer(app)
    create = cmd(CreateUser, username="jack", display_name="Jack", email="jack@example.com")
    first = await writer.executor.execute(create)
    seen = len(await sim.log())
    again = await writer.executor.execute(create)
    assert isinstance(first, CommandSucceeded)
    assert isinstance(again, CommandSucceeded)
    assert (again.noop, again.detail, again.user_key) == (True, "replay", first.user_key)
    assert len(await sim.log()) == seen
    ttl = await writer.ledger._redis.ttl(writer.ledger.done_key(create.command_id))
    assert 6 * 24 * 3600 < ttl <= 7 * 24 * 3600


@pytest.mark.parametrize("version", OLD_AND_NEW)
async def test_in_flight_command_reads_first_and_skips_a_write_already_made(
    make_sim, make_writer, control, version
):
    """A predecessor crashed after its write but before recording it: no second write."""
    app = make_sim(version)
    sim = control(app)
    await sim.seed({"users": [{"username": "kim", "groups": ["crew"]}], "groups": ["crew"]})
    writer = make_writer(app)
    await writer.client.ready()
    commands = [
        cmd(AddMembership, username="kim", group="crew"),
        cmd(CreateGroup, group="crew"),
        cmd(DeactivateUser, username="nobody"),
        cmd(CreateUser, username="kim", display_name="kim", email="kim@example.com"),
    ]
    start = len(await sim.log())
    for command in commands:
        assert await writer.ledger.begin(command.command_id)  # the crashed predecessor
        result = await writer.executor.execute(command)
        assert isinstance(result, CommandSucceeded), result
        assert result.detail == "recovered"
    entries = (await sim.log())[start:]
    assert [e for e in entries if e["op"] != "rpc:getUserByName" and e["method"] != "GET"] == []


async def test_in_flight_command_still_writes_when_the_state_does_not_hold(
    make_sim, make_writer, control
):
    app = make_sim("8.4")
    sim = control(app)
    await sim.seed({"users": [{"username": "lee"}], "groups": ["crew"]})
    writer = make_writer(app)
    add = cmd(AddMembership, username="lee", group="crew")
    await writer.ledger.begin(add.command_id)
    result = await writer.executor.execute(add)
    assert isinstance(result, CommandSucceeded)
    assert result.detail == ""
    assert (await sim.state())["memberships"]["crew"] == ["lee"]
    assert await writer.ledger._redis.exists(writer.ledger.inflight_key(add.command_id)) == 0


async def test_delete_waits_for_the_long_task(make_sim, make_writer, control, clock):
    app = make_sim("8.4")
    sim = control(app)
    await sim.seed({"users": [{"username": "max"}]})
    writer = make_writer(app, longtask_poll_seconds=2.0)
    result = await writer.executor.execute(cmd(DeleteUser, username="max"))
    assert isinstance(result, CommandSucceeded)
    polls = [e for e in await sim.log() if e["path"].startswith("/rest/api/longtask/")]
    assert len(polls) == 2  # running on the first poll, finished on the second
    assert clock.sleeps == [2.0]


async def test_a_command_that_takes_too_long_is_reported_transient(make_sim, make_writer, control):
    app = make_sim("8.4")
    writer = make_writer(app, command_timeout_seconds=0.05)
    await writer.client.ready()
    await control(app).faults(latency_ms=300)
    result = await writer.executor.execute(cmd(CreateGroup, group="slow"))
    assert isinstance(result, CommandFailed)
    assert not result.permanent
    assert "gave up after 0.05 s" in result.error
    # still marked in flight: the next delivery reads before writing
    assert await writer.ledger._redis.exists(writer.ledger.inflight_key(result.command_id))
