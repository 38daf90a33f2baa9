"""Golden samples: every request and response shape, named after its source, pinned by keys.

Response samples must match the simulator's live answers key for key (recursively; list items
by their first element). Request samples are sent as they are and must be accepted. Rewrite
the files after a deliberate shape change with `ROSTER_REGEN_GOLDEN=1 uv run pytest ...`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from confluence_support import RPC, Sim, SimFactory

from roster.simulators.confluence import RateLimitSettings

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("ROSTER_REGEN_GOLDEN") == "1"


def load(name: str) -> Any:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def shape_mismatches(expected: Any, actual: Any, where: str = "$") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object"]
        problems = [f"{where}: keys {sorted(set(expected) ^ set(actual))} differ"]
        if set(expected) == set(actual):
            problems = []
        for key in set(expected) & set(actual):
            problems += shape_mismatches(expected[key], actual[key], f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected an array"]
        if expected and actual:
            return shape_mismatches(expected[0], actual[0], f"{where}[0]")
    return []


async def _fixture(make_sim: SimFactory, version: str = "9.3") -> Sim:
    sim = await make_sim(version)
    await sim.seed(
        [
            {"username": "jdoe", "displayName": "Jane Doe", "email": "jdoe@example.com",
             "groups": ["developers"], "lastLogin": "2025-03-01T09:30:00+00:00"},
            {"username": "rroe", "displayName": "Richard Roe", "active": False,
             "groups": ["developers"]},
        ]
    )  # fmt: skip
    return sim


async def _get(sim: Sim, path: str) -> Any:
    response = await sim.client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def _send(sim: Sim, method: str, path: str, body: Any = None) -> Any:
    return (await sim.client.request(method, path, json=body)).json()


async def _longtask(sim: Sim, polls: int) -> Any:
    submission = await _send(sim, "DELETE", "/rest/api/admin/user/rroe")
    for _ in range(polls - 1):
        await sim.client.get(submission["links"]["status"])
    return await _get(sim, submission["links"]["status"])


async def _limited(make_sim: SimFactory) -> Any:
    sim = await make_sim("8.4", ratelimit=RateLimitSettings(enabled=True, fill_rate=1, max=1))
    await sim.client.get("/rest/api/group")
    return (await sim.client.get("/rest/api/group")).json()


async def _unauthenticated(sim: Sim) -> Any:
    return (await sim.client.get("/rest/api/user/current", auth=None)).json()


async def _light(sim: Sim, method: str, params: list[Any]) -> Any:
    return (await sim.client.post(f"{RPC}/{method}", json=params)).json()


async def _requests(sim: Sim) -> Any:
    await sim.client.put("/rest/api/user/jdoe/group/developers")
    return await _get(sim, "/_sim/requests?since=0")


def _rpc(method: str, *params: Any) -> Callable[[Sim], Awaitable[Any]]:
    return lambda sim: sim.rpc(method, *params)


U = "/rest/api/user"
DUPLICATE = {"name": "Developers"}
RESPONSES: dict[str, Callable[[Sim], Awaitable[Any]]] = {
    "rest_user_response": lambda s: _get(s, f"{U}?username=jdoe"),
    "rest_user_expand_status_response": lambda s: _get(s, f"{U}?username=jdoe&expand=status"),
    "rest_user_current_response": lambda s: _get(s, f"{U}/current"),
    "rest_user_memberof_page": lambda s: _get(s, f"{U}/memberof?username=jdoe"),
    "rest_user_list_page": lambda s: _get(s, f"{U}/list?limit=2"),
    "rest_user_list_expand_status_page": lambda s: _get(s, f"{U}/list?expand=status&limit=2"),
    "rest_admin_users_list_active_page": lambda s: _get(s, "/rest/api/admin/users/list/active"),
    "rest_group_list_page": lambda s: _get(s, "/rest/api/group?limit=2"),
    "rest_group_response": lambda s: _get(s, "/rest/api/group/developers"),
    "rest_group_member_page": lambda s: _get(s, "/rest/api/group/developers/member?limit=1"),
    "rest_admin_user_create_response": lambda s: _send(
        s, "POST", "/rest/api/admin/user", load("rest_admin_user_create_request")
    ),
    "rest_admin_group_create_response": lambda s: _send(
        s, "POST", "/rest/api/admin/group", load("rest_admin_group_create_request")
    ),
    "rest_admin_user_delete_response": lambda s: _send(s, "DELETE", "/rest/api/admin/user/rroe"),
    "rest_longtask_running_response": lambda s: _longtask(s, 1),
    "rest_longtask_finished_response": lambda s: _longtask(s, 2),
    "rest_error_400_response": lambda s: _send(s, "POST", "/rest/api/admin/user", {}),
    "rest_error_404_response": lambda s: _send(s, "GET", f"{U}?username=ghost"),
    "rest_error_409_response": lambda s: _send(s, "POST", "/rest/api/admin/group", DUPLICATE),
    "rest_error_401_response": lambda s: _unauthenticated(s),
    "applinks_manifest_response": lambda s: _get(s, "/rest/applinks/1.0/manifest"),
    "rpc_getUser_response": _rpc("getUser", "jdoe"),
    "rpc_getUserByName_response": _rpc("getUserByName", "jdoe"),
    "rpc_hasUser_response": _rpc("hasUser", "jdoe"),
    "rpc_addUser_response": lambda s: s.rpc("addUser", *load("rpc_addUser_request")["params"]),
    "rpc_editUser_response": lambda s: s.rpc("editUser", *load("rpc_editUser_request")["params"]),
    "rpc_deactivateUser_response": _rpc("deactivateUser", "jdoe"),
    "rpc_isActiveUser_response": _rpc("isActiveUser", "jdoe"),
    "rpc_getGroups_response": _rpc("getGroups"),
    "rpc_getUserGroups_response": _rpc("getUserGroups", "jdoe"),
    "rpc_addUserToGroup_response": _rpc("addUserToGroup", "jdoe", "developers"),
    "rpc_getActiveUsers_response": _rpc("getActiveUsers", True),
    "rpc_error_response": _rpc("getUser", "ghost"),
    "rpc_light_getActiveUsers_response": lambda s: _light(s, "getActiveUsers", [True]),
    "rpc_light_getUserByName_response": lambda s: _light(s, "getUserByName", ["jdoe"]),
    "rpc_light_error_response": lambda s: _light(s, "getUser", ["ghost"]),
    "sim_state_response": lambda s: _get(s, "/_sim/state"),
    "sim_requests_response": _requests,
}  # fmt: skip
REQUESTS: dict[str, tuple[str, str]] = {
    "rest_admin_user_create_request": ("POST", "/rest/api/admin/user"),
    "rest_admin_user_update_request": ("PUT", "/rest/api/admin/user/jdoe"),
    "rest_admin_group_create_request": ("POST", "/rest/api/admin/group"),
    "rpc_addUser_request": ("POST", RPC),
    "rpc_editUser_request": ("POST", RPC),
    "rpc_getUserByName_request": ("POST", RPC),
    "rpc_light_getActiveUsers_request": ("POST", f"{RPC}/getActiveUsers"),
    "sim_users_request": ("POST", "/_sim/users"),
    "sim_ratelimit_request": ("PUT", "/_sim/ratelimit"),
    "sim_faults_request": ("PUT", "/_sim/faults"),
}


def _write(name: str, payload: Any) -> None:
    (GOLDEN / f"{name}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


@pytest.mark.parametrize("name", sorted(RESPONSES))
async def test_response_matches_golden_shape(make_sim: SimFactory, name: str) -> None:
    sim = await _fixture(make_sim)
    actual = await RESPONSES[name](sim)
    if REGENERATE:
        _write(name, actual)
    assert shape_mismatches(load(name), actual) == []


async def test_rate_limited_response_matches_golden_shape(make_sim: SimFactory) -> None:
    actual = await _limited(make_sim)
    if REGENERATE:
        _write("rest_ratelimit_429_response", actual)
    assert shape_mismatches(load("rest_ratelimit_429_response"), actual) == []


@pytest.mark.parametrize("name", sorted(REQUESTS))
async def test_request_sample_is_accepted(make_sim: SimFactory, name: str) -> None:
    sim = await _fixture(make_sim)
    method, path = REQUESTS[name]
    response = await sim.client.request(method, path, json=load(name))
    assert 200 <= response.status_code < 300, response.text
    if path.startswith(RPC):
        assert "error" not in response.json()


def test_every_golden_file_is_used() -> None:
    used = {*RESPONSES, *REQUESTS, "rest_ratelimit_429_response"}
    assert {p.stem for p in GOLDEN.glob("*.json")} == used


def test_shape_check_can_fail() -> None:
    assert shape_mismatches({"a": {"b": 1}}, {"a": {"c": 1}}) == ["$.a: keys ['b', 'c'] differ"]
    assert shape_mismatches({"r": [{"x": 1}]}, {"r": [{"y": 1}]}) != []
    assert shape_mismatches({"r": [1]}, {"r": {}}) == ["$.r: expected an array"]
