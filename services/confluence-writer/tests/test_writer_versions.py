"""The same command scenario against Confluence 7.13, 8.2, 8.4 and 9.3 ends in the same state,
each version through the API it actually has (REST where present, JSON-RPC otherwise)."""

from __future__ import annotations

from typing import Any

import pytest
from writer_support import (
    VERSIONS,
    applied_twice,
    normalise,
    scenario,
    scenario_seed,
)

from roster.shared.messages.results import CommandSucceeded

EXPECTED: dict[str, Any] = {
    "users": [
        ("admin", "Administrator", "admin@example.com", True),
        ("alice", "Alice Example", "alice@example.com", True),
        ("bob", "Bob Example", "bob@example.com", True),
        ("carol", "Carol New", "carol@new.example.com", True),
        ("dave", "Dave", "dave@example.com", False),
        ("frank", "Frank", "frank@example.com", True),
    ],
    "groups": ["confluence-administrators", "confluence-users", "team-a", "team-b"],
    "memberships": {
        "confluence-administrators": ["admin"],
        "confluence-users": ["admin", "alice", "bob"],
        "team-a": ["alice"],
        "team-b": ["alice", "bob"],
    },
}


async def run_scenario(make_sim, make_writer, control, version: str, **writer_options):
    app = make_sim(version)
    sim = control(app)
    await sim.seed(scenario_seed())
    writer = make_writer(app, **writer_options)
    results = [await writer.executor.execute(c) for c in scenario()]
    return sim, writer, results


@pytest.mark.parametrize("version", VERSIONS)
async def test_scenario_ends_in_the_same_state(make_sim, make_writer, control, version):
    sim, writer, results = await run_scenario(make_sim, make_writer, control, version)

    failures = [r for r in results if not isinstance(r, CommandSucceeded)]
    assert failures == []
    assert normalise(await sim.state()) == EXPECTED
    log = await sim.log()
    assert applied_twice(log) == []
    by_op = {r.operation: r for r in results}
    assert by_op["CreateGroup"].noop  # team-b was created by the membership that overtook it
    assert results[4].detail == "group created"
    assert results[1].user_key  # the new user's key is reported for the link table


@pytest.mark.parametrize(
    ("version", "rest_writes", "rpc_methods"),
    [
        ("7.13", set(), {"addUser", "addGroup", "addUserToGroup", "editUser", "removeUser"}),
        ("8.2", {"add_member", "create_group", "disable_user", "delete_user"}, {"addUser"}),
        ("8.4", {"create_user", "add_member", "enable_user"}, {"editUser"}),
        ("9.3", {"create_user", "update_user", "delete_group"}, set()),
    ],
)
async def test_each_version_uses_the_api_it_has(
    make_sim, make_writer, control, version, rest_writes, rpc_methods
):
    sim, _, _ = await run_scenario(make_sim, make_writer, control, version)
    log = await sim.log()
    writes = [e for e in log if e["method"] != "GET" and e["effect"] in ("applied", "noop")]
    rest_ops = {e["op"] for e in writes if not e["op"].startswith("rpc")}
    rpc_ops = {e["op"].removeprefix("rpc:") for e in writes if e["op"].startswith("rpc")}
    assert rest_writes <= rest_ops
    assert rpc_methods <= rpc_ops - {"getUserByName"}
    if version == "7.13":
        assert rest_ops == set()
    if version == "9.3":
        assert "editUser" not in rpc_ops
    if version in ("8.2",):
        assert "create_user" not in rest_ops


@pytest.mark.parametrize("version", VERSIONS)
async def test_configured_version_skips_detection(make_sim, make_writer, control, version):
    app = make_sim(version)
    writer = make_writer(app, version=version)
    caps = await writer.client.ready()
    assert caps.version == tuple(int(p) for p in version.split("."))
    paths = [e["path"] for e in await control(app).log()]
    assert "/rest/applinks/1.0/manifest" not in paths


async def test_bearer_token_is_accepted(make_sim, make_writer, control):
    app = make_sim("8.4")
    writer = make_writer(app, token=True)
    result = await writer.executor.execute(scenario()[0])
    assert isinstance(result, CommandSucceeded)
    assert (await control(app).log())[-1]["status"] == 201
