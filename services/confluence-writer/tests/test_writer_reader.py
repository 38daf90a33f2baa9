"""`ReadConfluenceState` on every version: the same facts about the requested users and the
managed groups, pages of at most 500 users, emails through JSON-RPC, failures reported."""

from __future__ import annotations

import pytest
from writer_support import VERSIONS, non_get, scenario, scenario_seed

from roster.shared.ids import command_id
from roster.shared.messages.commands import ReadConfluenceState

REQUESTED = ["alice", "bob", "carol", "dave", "frank", "ghost"]
MANAGED = ["team-a", "team-b", "never-created"]


def read_command(run: str = "run-read", **fields) -> ReadConfluenceState:
    fields.setdefault("groups", MANAGED)
    fields.setdefault("usernames", REQUESTED)
    return ReadConfluenceState(
        run_id=run, command_id=command_id(run, "ReadConfluenceState", run, {}), **fields
    )


async def prepared(make_sim, make_writer, control, version, **options):
    app = make_sim(version)
    sim = control(app)
    await sim.seed(scenario_seed())
    writer = make_writer(app, **options)
    for command in scenario():
        await writer.executor.execute(command)
    return app, sim, writer


def facts(pages):
    users = {u.username: u for p in pages for u in p.users}
    members: dict[str, list[str]] = {}
    for p in pages:
        for group, names in p.members.items():
            members.setdefault(group, []).extend(names)
    groups = [g for p in pages for g in p.groups]
    return users, members, groups


@pytest.mark.parametrize("version", VERSIONS)
async def test_snapshot_is_the_same_on_every_version(make_sim, make_writer, control, version):
    _, _, writer = await prepared(make_sim, make_writer, control, version)
    pages, marker = await writer.reader.read(read_command())

    assert marker.error is None
    assert marker.pages == len(pages) == 1
    assert [p.page for p in pages] == [0]
    users, members, groups = facts(pages)
    assert marker.users == len(users)
    assert marker.groups == len(groups)
    requested = {
        name: (u.display_name, u.email, u.active) for name, u in users.items() if name in REQUESTED
    }
    assert requested == {
        "alice": ("Alice Example", "alice@example.com", True),
        "bob": ("Bob Example", "bob@example.com", True),
        "carol": ("Carol New", "carol@new.example.com", True),
        "dave": ("Dave", "dave@example.com", False),
        "frank": ("Frank", "frank@example.com", True),
    }
    assert all(u.user_key for u in users.values())
    assert members == {"team-a": ["alice"], "team-b": ["alice", "bob"]}
    assert sorted(groups) == ["confluence-administrators", "confluence-users", "team-a", "team-b"]
    if version in ("8.4", "9.3"):
        assert "admin" in users  # the all-users list
    else:
        assert set(users) == set(REQUESTED) - {"ghost"}


async def test_large_snapshot_is_paged(make_sim, make_writer, control):
    app = make_sim("8.4")
    sim = control(app)
    people = [
        {"username": f"p{i:04d}", "groups": ["big"] if i % 3 == 0 else []} for i in range(1200)
    ]
    await sim.seed({"users": people, "groups": ["big"]})
    writer = make_writer(app, read_emails="requested")
    pages, marker = await writer.reader.read(read_command(groups=["big"], usernames=["p0003"]))
    assert marker.pages == len(pages) == 3
    assert [len(p.users) for p in pages] == [500, 500, 201]
    assert all(sum(len(m) for m in p.members.values()) <= 500 for p in pages)
    users, members, _ = facts(pages)
    assert len(users) == 1201
    assert sorted(members["big"]) == [f"p{i:04d}" for i in range(0, 1200, 3)]
    assert [n for n, u in users.items() if u.email] == ["p0003"]
    list_calls = [e for e in await sim.log() if e["path"] == "/rest/api/user/list"]
    assert len(list_calls) == 7  # 1201 users at the server's cap of 200 per page


async def test_snapshot_in_dry_run_reads_without_writing(make_sim, make_writer, control):
    app = make_sim("8.2")
    sim = control(app)
    await sim.seed(scenario_seed())
    writer = make_writer(app, dry_run=True)
    pages, marker = await writer.reader.read(read_command(groups=["legacy"]))
    assert marker.error is None
    users, members, _ = facts(pages)
    assert members == {"legacy": ["carol", "dave"]}
    assert all(u.email is None for u in users.values())  # JSON-RPC is a POST: refused
    assert non_get(await sim.log()) == []


async def test_failed_read_is_reported(make_sim, make_writer, control):
    app = make_sim("8.4")
    writer = make_writer(app, max_attempts=2)
    await writer.client.ready()
    await control(app).faults(error_rate=1.0, error_status=503)
    pages, marker = await writer.reader.read(read_command())
    assert pages == []
    assert marker.error
    assert marker.pages == 0


async def test_snapshot_without_the_remote_api_has_no_emails(make_sim, make_writer, control):
    app = make_sim("9.3", rpc_accepts_bearer=False)  # JSON-RPC refuses the token (401)
    sim = control(app)
    await sim.seed(scenario_seed())
    writer = make_writer(app, token=True)
    pages, marker = await writer.reader.read(read_command(groups=["legacy"]))
    assert marker.error is None
    users, members, _ = facts(pages)
    assert members == {"legacy": ["carol", "dave"]}
    assert users["carol"].display_name == "Carol Old"
    assert all(u.email is None for u in users.values())


async def test_a_read_that_takes_too_long_is_reported(make_sim, make_writer, control):
    app = make_sim("8.4")
    writer = make_writer(app, read_timeout_seconds=0.05)
    await writer.client.ready()
    await control(app).faults(latency_ms=300)
    pages, marker = await writer.reader.read(read_command())
    assert pages == []
    assert marker.error == "gave up after 0.05 s"
