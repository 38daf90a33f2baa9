"""REST user semantics: validation, conflicts, licence seats, lookups, disable/enable, delete."""

from __future__ import annotations

from typing import Any

import pytest
from confluence_support import SimFactory

CREATE = "/rest/api/admin/user"


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "userName": "jdoe",
        "fullName": "Jane Doe",
        "email": "jdoe@example.com",
        "password": "secret",
        "notifyViaEmail": False,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"userName": "JDoe"}, "userName"),
        ({"userName": "j doe"}, "userName"),
        ({"userName": "j\tdoe"}, "userName"),
        ({"userName": ""}, "userName"),
        ({"userName": None}, "userName"),
        ({"userName": "anonymous"}, "userName"),
        *[({"userName": f"j{ch}doe"}, "userName") for ch in ["\\", ",", "+", "<", ">", "'", '"']],
        ({"fullName": ""}, "fullName"),
        ({"fullName": "   "}, "fullName"),
        ({"fullName": "Jane <b>"}, "fullName"),
        ({"fullName": "anonymous"}, "fullName"),
        ({"email": ""}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"password": None}, "password"),
        ({"password": "x", "notifyViaEmail": True}, "password"),
    ],
)
async def test_create_rejects_invalid_fields(
    make_sim: SimFactory, overrides: dict[str, Any], field: str
) -> None:
    sim = await make_sim("8.4")
    response = await sim.client.post(CREATE, json=body(**overrides))
    assert response.status_code == 400
    error = response.json()
    assert error["statusCode"] == 400
    assert error["message"].startswith(f"{field}:")
    assert [u["username"] for u in (await sim.state())["users"]] == ["admin"]


async def test_create_with_notify_and_no_password_is_allowed(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    response = await sim.client.post(CREATE, json=body(password=None, notifyViaEmail=True))
    assert response.status_code == 201
    assert len(response.json()["userKey"]) == 32


async def test_create_returns_key_and_joins_default_group(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    response = await sim.client.post(CREATE, json=body())
    assert response.status_code == 201
    key = response.json()["userKey"]
    by_key = await sim.client.get(f"/rest/api/user?key={key}")
    assert by_key.json()["username"] == "jdoe"
    assert "jdoe" in (await sim.state())["memberships"]["confluence-users"]


async def test_create_existing_username_is_409_case_insensitively(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    await sim.seed([{"username": "JDoe"}])
    response = await sim.client.post(CREATE, json=body())
    assert response.status_code == 409


async def test_lookup_is_case_insensitive(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    await sim.client.post(CREATE, json=body())
    response = await sim.client.get("/rest/api/user?username=JDOE")
    assert response.status_code == 200
    assert response.json()["username"] == "jdoe"


async def test_unknown_user_is_404_and_missing_params_400(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    assert (await sim.client.get("/rest/api/user?username=ghost")).status_code == 404
    assert (await sim.client.get("/rest/api/user?key=nope")).status_code == 404
    assert (await sim.client.get("/rest/api/user")).status_code == 400


async def test_seats_exhausted_is_402_and_deactivated_users_do_not_count(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim("8.4", seats=2)
    assert (await sim.client.post(CREATE, json=body(userName="one"))).status_code == 201
    full = await sim.client.post(CREATE, json=body(userName="two"))
    assert full.status_code == 402
    assert full.json()["reason"] == "Payment Required"
    assert (await sim.client.put("/rest/api/admin/user/one/disable")).status_code == 204
    assert (await sim.client.post(CREATE, json=body(userName="two"))).status_code == 201


async def test_seats_switchable_at_run_time(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    seats = await sim.client.put("/_sim/seats", json={"seats": 1})
    assert seats.json() == {"seats": 1, "used": 1}
    assert (await sim.client.post(CREATE, json=body())).status_code == 402
    await sim.client.put("/_sim/seats", json={"seats": None})
    assert (await sim.client.post(CREATE, json=body())).status_code == 201


async def test_disable_and_enable_are_idempotent(make_sim: SimFactory) -> None:
    sim = await make_sim("8.2")
    await sim.seed([{"username": "alice"}])
    for _ in range(2):
        assert (await sim.client.put("/rest/api/admin/user/alice/disable")).status_code == 204
    status = await sim.client.get("/rest/api/user?username=alice&expand=status")
    assert status.json()["status"] == "deactivated"
    for _ in range(2):
        assert (await sim.client.put("/rest/api/admin/user/alice/enable")).status_code == 204
    status = await sim.client.get("/rest/api/user?username=alice&expand=status")
    assert status.json()["status"] == "current"
    effects = [e["effect"] for e in await sim.log() if e["op"] in ("disable_user", "enable_user")]
    assert effects == ["applied", "noop", "applied", "noop"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/rest/api/admin/user/ghost/disable"),
        ("PUT", "/rest/api/admin/user/ghost/enable"),
        ("DELETE", "/rest/api/admin/user/ghost"),
    ],
)
async def test_admin_writes_on_missing_user_are_404(
    make_sim: SimFactory, method: str, path: str
) -> None:
    sim = await make_sim("8.2")
    assert (await sim.client.request(method, path)).status_code == 404


async def test_delete_is_a_long_task_that_finishes(make_sim: SimFactory) -> None:
    sim = await make_sim("8.2")
    await sim.seed([{"username": "alice", "groups": ["team"]}])
    response = await sim.client.delete("/rest/api/admin/user/alice")
    assert response.status_code == 202
    submission = response.json()
    status_path = submission["links"]["status"]
    assert status_path == f"/rest/api/longtask/{submission['id']}"
    first = (await sim.client.get(status_path)).json()
    assert first["finished"] is False
    assert first["percentageComplete"] < 100
    second = (await sim.client.get(status_path)).json()
    assert second["finished"] is True
    assert second["successful"] is True
    assert second["percentageComplete"] == 100
    assert (await sim.client.get("/rest/api/user?username=alice")).status_code == 404
    state = await sim.state()
    assert state["memberships"]["team"] == []
    assert (await sim.client.get("/rest/api/longtask/unknown")).status_code == 404


async def test_update_user_in_93(make_sim: SimFactory) -> None:
    sim = await make_sim("9.3")
    await sim.seed([{"username": "alice", "displayName": "Alice", "email": "a@example.com"}])
    new = {"fullName": "Alice Liddell", "email": "alice@example.com"}
    assert (await sim.client.put("/rest/api/admin/user/alice", json=new)).status_code == 204
    assert (await sim.client.put("/rest/api/admin/user/alice", json=new)).status_code == 204
    bad = {"fullName": "Alice", "email": "nope"}
    assert (await sim.client.put("/rest/api/admin/user/alice", json=bad)).status_code == 400
    assert (await sim.client.put("/rest/api/admin/user/ghost", json=new)).status_code == 404
    user = next(u for u in (await sim.state())["users"] if u["username"] == "alice")
    assert (user["displayName"], user["email"]) == ("Alice Liddell", "alice@example.com")
    effects = [e["effect"] for e in await sim.log() if e["op"] == "update_user"]
    assert effects == ["applied", "noop", "rejected", "rejected"]


async def test_person_has_no_email_and_status_only_on_expand(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    plain = (await sim.client.get("/rest/api/user?username=admin")).json()
    assert "email" not in plain
    assert plain["_expandable"] == {"status": ""}
    assert "status" not in plain
    expanded = (await sim.client.get("/rest/api/user?username=admin&expand=status,email")).json()
    assert expanded["status"] == "current"
    assert "email" not in expanded


@pytest.mark.parametrize(
    ("auth", "headers", "status"),
    [
        (None, {}, 401),
        (("admin", "wrong"), {}, 401),
        (("mallory", "admin"), {}, 401),
        (None, {"Authorization": "Bearer pat-123"}, 200),
        (None, {"Authorization": "Bearer other"}, 401),
        (None, {"Authorization": "Basic !!!"}, 401),
        (("ADMIN", "admin"), {}, 200),
    ],
)
async def test_auth(
    make_sim: SimFactory, auth: tuple[str, str] | None, headers: dict[str, str], status: int
) -> None:
    sim = await make_sim("8.4", token="pat-123")
    response = await sim.client.get("/rest/api/user/current", auth=auth, headers=headers)
    assert response.status_code == status
    if status == 200:
        assert response.json()["username"] == "admin"


async def test_bearer_on_rpc_can_be_refused(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4", token="pat", rpc_accepts_bearer=False)
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "getGroups", "params": []}
    bearer = {"Authorization": "Bearer pat"}
    path = "/rpc/json-rpc/confluenceservice-v2"
    refused = await sim.client.post(path, json=rpc, headers=bearer, auth=None)
    assert refused.status_code == 401
    rest = await sim.client.get("/rest/api/group", headers=bearer, auth=None)
    assert rest.status_code == 200
