"""Groups and memberships: case-insensitive names, 409/404/400 cases, idempotent membership."""

from __future__ import annotations

import pytest
from confluence_support import SimFactory


async def test_create_group_is_201_and_case_insensitive(make_sim: SimFactory) -> None:
    sim = await make_sim("8.2")
    created = await sim.client.post("/rest/api/admin/group", json={"name": "Dev-Team"})
    assert created.status_code == 201
    assert created.json()["name"] == "dev-team"
    again = await sim.client.post(
        "/rest/api/admin/group", json={"type": "group", "name": "DEV-team"}
    )
    assert again.status_code == 409
    assert (await sim.client.get("/rest/api/group/DEV-TEAM")).json()["name"] == "dev-team"


@pytest.mark.parametrize("payload", [{}, {"name": ""}, {"name": "  "}, {"name": 5}])
async def test_create_group_without_name_is_400(make_sim: SimFactory, payload: object) -> None:
    sim = await make_sim("8.2")
    assert (await sim.client.post("/rest/api/admin/group", json=payload)).status_code == 400


async def test_create_group_with_broken_json_is_400(make_sim: SimFactory) -> None:
    sim = await make_sim("8.2")
    response = await sim.client.post(
        "/rest/api/admin/group", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_delete_group(make_sim: SimFactory) -> None:
    sim = await make_sim("8.2")
    await sim.seed([{"username": "alice", "groups": ["team"]}])
    assert (await sim.client.delete("/rest/api/admin/group/TEAM")).status_code == 204
    assert (await sim.client.delete("/rest/api/admin/group/team")).status_code == 404
    assert (await sim.client.get("/rest/api/group/team")).status_code == 404
    groups = (await sim.client.get("/rest/api/user/memberof?username=alice")).json()["results"]
    assert groups == []


async def test_deleting_last_admin_group_is_400(make_sim: SimFactory) -> None:
    sim = await make_sim("8.2")
    response = await sim.client.delete("/rest/api/admin/group/confluence-administrators")
    assert response.status_code == 400
    assert "confluence-administrators" in (await sim.state())["groups"]


async def test_membership_add_and_remove_are_idempotent(make_sim: SimFactory) -> None:
    sim = await make_sim("8.2")
    await sim.seed([{"username": "alice"}], groups=["team"])
    for _ in range(2):
        assert (await sim.client.put("/rest/api/user/alice/group/team")).status_code == 204
    assert (await sim.state())["memberships"]["team"] == ["alice"]
    for _ in range(2):
        assert (await sim.client.delete("/rest/api/user/ALICE/group/Team")).status_code == 204
    assert (await sim.state())["memberships"]["team"] == []
    log = [e for e in await sim.log() if e["op"] in ("add_member", "remove_member")]
    assert [(e["op"], e["effect"]) for e in log] == [
        ("add_member", "applied"),
        ("add_member", "noop"),
        ("remove_member", "applied"),
        ("remove_member", "noop"),
    ]
    assert {(e["target"], e["group"]) for e in log} == {("alice", "team")}


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize(("user", "group"), [("ghost", "team"), ("alice", "nogroup")])
async def test_membership_with_missing_side_is_404(
    make_sim: SimFactory, method: str, user: str, group: str
) -> None:
    sim = await make_sim("8.2")
    await sim.seed([{"username": "alice"}], groups=["team"])
    response = await sim.client.request(method, f"/rest/api/user/{user}/group/{group}")
    assert response.status_code == 404


async def test_memberof_by_username_and_key(make_sim: SimFactory) -> None:
    sim = await make_sim("7.13")
    await sim.seed([{"username": "alice", "groups": ["b-team", "a-team"]}])
    by_name = (await sim.client.get("/rest/api/user/memberof?username=alice")).json()
    assert [g["name"] for g in by_name["results"]] == ["a-team", "b-team"]
    assert by_name["results"][0]["type"] == "group"
    key = (await sim.client.get("/rest/api/user?username=alice")).json()["userKey"]
    by_key = (await sim.client.get(f"/rest/api/user/memberof?key={key}")).json()
    assert by_key["results"] == by_name["results"]
    assert (await sim.client.get("/rest/api/user/memberof?username=ghost")).status_code == 404


async def test_group_members_and_missing_group(make_sim: SimFactory) -> None:
    sim = await make_sim("7.13")
    await sim.seed(
        [{"username": "bob", "groups": ["team"]}, {"username": "al", "groups": ["team"]}]
    )
    members = (await sim.client.get("/rest/api/group/team/member?expand=status")).json()
    assert [m["username"] for m in members["results"]] == ["al", "bob"]
    assert all(m["status"] == "current" for m in members["results"])
    assert (await sim.client.get("/rest/api/group/nope/member")).status_code == 404
