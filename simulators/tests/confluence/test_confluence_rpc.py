"""JSON-RPC: envelope and light form in every version, method semantics, error envelopes."""

from __future__ import annotations

from typing import Any

import pytest
from confluence_support import RPC, VERSIONS, Sim, SimFactory

JANE = {"name": "jdoe", "fullname": "Jane Doe", "email": "jdoe@example.com"}


def result(reply: dict[str, Any]) -> Any:
    assert "error" not in reply, reply
    return reply["result"]


def fault(reply: dict[str, Any]) -> dict[str, Any]:
    assert "result" not in reply, reply
    return dict(reply["error"])


@pytest.mark.parametrize("version", VERSIONS)
async def test_full_user_lifecycle_over_rpc(make_sim: SimFactory, version: str) -> None:
    sim = await make_sim(version)
    assert result(await sim.rpc("addUser", JANE, "secret")) is None
    user = result(await sim.rpc("getUserByName", "JDOE"))
    assert user == {
        "name": "jdoe",
        "fullname": "Jane Doe",
        "email": "jdoe@example.com",
        "url": "http://confluence.example.com:8090/display/~jdoe",
        "key": user["key"],
    }
    assert set(result(await sim.rpc("getUser", "jdoe"))) == {"name", "fullname", "email", "url"}
    edited = {**JANE, "fullname": "Jane Q. Doe", "email": "jane@example.com"}
    assert result(await sim.rpc("editUser", edited)) is True
    assert result(await sim.rpc("getUserByName", "jdoe"))["email"] == "jane@example.com"
    assert result(await sim.rpc("addGroup", "team")) is True
    assert result(await sim.rpc("addUserToGroup", "jdoe", "team")) is True
    assert result(await sim.rpc("addUserToGroup", "jdoe", "team")) is True
    assert result(await sim.rpc("getUserGroups", "jdoe")) == ["confluence-users", "team"]
    assert result(await sim.rpc("removeUserFromGroup", "jdoe", "team")) is True
    assert result(await sim.rpc("deactivateUser", "jdoe")) is True
    assert result(await sim.rpc("isActiveUser", "jdoe")) is False
    assert result(await sim.rpc("getActiveUsers", True)) == ["admin"]
    assert result(await sim.rpc("reactivateUser", "jdoe")) is True
    assert result(await sim.rpc("getActiveUsers", True)) == ["admin", "jdoe"]
    assert result(await sim.rpc("hasGroup", "TEAM")) is True
    assert result(await sim.rpc("removeGroup", "team", None)) is True
    assert result(await sim.rpc("getGroups")) == ["confluence-administrators", "confluence-users"]
    assert result(await sim.rpc("removeUser", "jdoe")) is True
    assert result(await sim.rpc("hasUser", "jdoe")) is False
    effects = [(e["op"], e["effect"]) for e in await sim.log()]
    assert ("rpc:addUserToGroup", "noop") in effects
    assert ("rpc:addUser", "applied") in effects
    assert ("rpc:getUser", "read") in effects


async def test_envelope_echoes_id_and_reports_faults(sim: Sim) -> None:
    reply = await sim.rpc("hasUser", "admin", rid=42)
    assert reply == {"jsonrpc": "2.0", "id": 42, "result": True}
    missing = fault(await sim.rpc("getUser", "ghost", rid=7))
    assert missing["code"] == -32000
    assert missing["data"]["exception"] == "com.atlassian.confluence.rpc.RemoteException"
    assert missing["message"].startswith("com.atlassian.confluence.rpc.RemoteException: ")
    exists = fault(await sim.rpc("addUser", {**JANE, "name": "admin"}, "pw"))
    assert exists["data"]["exception"].endswith("AlreadyExistsException")
    last_admin = fault(await sim.rpc("removeGroup", "confluence-administrators"))
    assert last_admin["data"]["exception"].endswith("NotPermittedException")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"jsonrpc": "2.0", "id": 1, "method": "noSuchMethod", "params": []}, -32601),
        ({"jsonrpc": "2.0", "id": 1, "method": "hasUser", "params": []}, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "hasUser", "params": [1]}, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "hasUser", "params": {"u": "x"}}, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "getActiveUsers", "params": ["yes"]}, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "addUser", "params": [JANE]}, -32602),
        ({"jsonrpc": "1.0", "id": 1, "method": "hasUser", "params": ["a"]}, -32600),
        ({"jsonrpc": "2.0", "id": 1, "params": ["a"]}, -32600),
        ([{"jsonrpc": "2.0", "id": 1, "method": "hasUser", "params": ["a"]}], -32600),
    ],
)
async def test_protocol_errors(sim: Sim, payload: Any, code: int) -> None:
    response = await sim.client.post(RPC, json=payload)
    assert response.status_code == 200
    assert response.json()["error"]["code"] == code
    assert response.json()["jsonrpc"] == "2.0"
    assert (await sim.log())[-1]["effect"] == "rejected"


async def test_parse_error(sim: Sim) -> None:
    response = await sim.client.post(RPC, content=b"{oops")
    assert response.json()["error"]["code"] == -32700
    assert response.json()["id"] is None


@pytest.mark.parametrize(
    ("name", "field"),
    [("JDoe", "userName"), ("j doe", "userName"), ("anonymous", "userName")],
)
async def test_add_user_validates_like_rest(sim: Sim, name: str, field: str) -> None:
    error = fault(await sim.rpc("addUser", {**JANE, "name": name}, "pw"))
    assert f"RemoteException: {field}:" in error["message"]


async def test_add_user_respects_seats(make_sim: SimFactory) -> None:
    sim = await make_sim("7.13", seats=1)
    error = fault(await sim.rpc("addUser", JANE, "pw"))
    assert "licence" in error["message"]
    assert result(await sim.rpc("deactivateUser", "admin")) is True
    assert result(await sim.rpc("addUser", JANE, "pw")) is None


async def test_remove_group_moves_members_to_default(sim: Sim) -> None:
    await sim.seed([{"username": "alice", "groups": ["old"]}], groups=["new"])
    assert result(await sim.rpc("removeGroup", "old", "new")) is True
    assert (await sim.state())["memberships"]["new"] == ["alice"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_light_form(make_sim: SimFactory, version: str) -> None:
    sim = await make_sim(version)
    active = await sim.client.post(f"{RPC}/getActiveUsers", json=[True])
    assert active.json() == ["admin"]
    user = await sim.client.post(f"{RPC}/getUserByName", json=["admin"])
    assert user.json()["email"] == "admin@example.com"
    missing = await sim.client.post(f"{RPC}/getUser", json=["ghost"])
    assert missing.status_code == 200
    assert missing.json()["error"]["code"] == -32000
    unknown = await sim.client.post(f"{RPC}/frobnicate", json=[])
    assert unknown.json()["error"]["code"] == -32601
    no_body = await sim.client.post(f"{RPC}/getGroups")
    assert no_body.json() == ["confluence-administrators", "confluence-users"]
    ops = [e["op"] for e in await sim.log()]
    assert ops == [
        "rpc:getActiveUsers",
        "rpc:getUserByName",
        "rpc:getUser",
        "rpc:frobnicate",
        "rpc:getGroups",
    ]
