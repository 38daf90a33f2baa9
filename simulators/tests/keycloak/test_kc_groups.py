"""`/groups`, `/children` and `/members` as Keycloak 26 serves them: hierarchy and paging."""

from __future__ import annotations

import httpx
import pytest
from kc_helpers import ADMIN, AdminGet, fetch_token, walk

from roster.simulators.directory import DirectoryGroup
from roster.simulators.keycloak import KeycloakSimulator

BRIEF_GROUP_KEYS = {"id", "name", "path", "subGroupCount", "subGroups", "access"}


async def test_top_level_groups_by_name_with_counts_and_empty_subgroups(
    admin: AdminGet, app: KeycloakSimulator
) -> None:
    groups = (await admin("/groups")).json()
    directory = app.state.store.directory
    top = sorted(g.name for g in directory.groups.values() if g.parent_id is None)
    assert [g["name"] for g in groups] == top
    assert all(set(g) == BRIEF_GROUP_KEYS for g in groups)
    assert all(g["subGroups"] == [] for g in groups)
    eng = next(g for g in groups if g["name"] == "eng")
    assert eng["subGroupCount"] == 3
    assert eng["path"] == "/eng"


async def test_group_listing_pages_and_counts(admin: AdminGet) -> None:
    everything = (await admin("/groups")).json()
    paged, _ = await walk(admin, "/groups", 4)
    assert paged == everything
    total = (await admin("/groups/count")).json()["count"]
    top = (await admin("/groups/count", top=True)).json()["count"]
    assert top == len(everything)
    assert total == 30 > top  # `count` counts subgroups too unless top=true


async def test_full_representation_and_no_counts(admin: AdminGet) -> None:
    groups = (await admin("/groups", briefRepresentation=False, subGroupsCount=False)).json()
    assert all({"attributes", "realmRoles", "clientRoles"} <= set(g) for g in groups)
    assert all("subGroupCount" not in g for g in groups)


async def test_search_returns_matches_inside_their_ancestors(admin: AdminGet) -> None:
    found = (await admin("/groups", search="oncall")).json()
    assert [g["name"] for g in found] == ["eng"]
    eng = found[0]
    assert [g["name"] for g in eng["subGroups"]] == ["eng-platform"]
    platform = eng["subGroups"][0]
    assert platform["parentId"] == eng["id"]
    assert platform["path"] == "/eng/eng-platform"
    oncall = platform["subGroups"][0]
    assert oncall["name"] == "eng-platform-oncall"
    assert oncall["path"] == "/eng/eng-platform/eng-platform-oncall"
    assert oncall["subGroups"] == []


async def test_search_flat_without_hierarchy(admin: AdminGet) -> None:
    found = (await admin("/groups", search="ENG-P", populateHierarchy=False)).json()
    assert [g["name"] for g in found] == ["eng-payments", "eng-platform", "eng-platform-oncall"]
    exact = (
        await admin("/groups", search="eng-platform", exact=True, populateHierarchy=False)
    ).json()
    assert [g["name"] for g in exact] == ["eng-platform"]
    assert (await admin("/groups/count", search="eng-p")).json() == {"count": 3}


async def test_children_default_to_ten_and_page(admin: AdminGet, app: KeycloakSimulator) -> None:
    store = app.state.store
    eng = next(g for g in store.directory.groups.values() if g.name == "eng")
    children = (await admin(f"/groups/{eng.id}/children")).json()
    assert [c["name"] for c in children] == ["eng-mobile", "eng-payments", "eng-platform"]
    assert all("attributes" in c for c in children)  # /children is full unless brief=true
    assert all(c["parentId"] == eng.id for c in children)
    assert next(c for c in children if c["name"] == "eng-platform")["subGroupCount"] == 1
    assert (await admin(f"/groups/{eng.id}/children", first=1, max=1)).json() == children[1:2]
    for index in range(11):  # 14 children: the default page (max 10) is no longer all of them
        store.add_group(
            DirectoryGroup(id=f"child-{index}", name=f"team-{index:02d}", parent_id=eng.id)
        )
    assert len((await admin(f"/groups/{eng.id}/children")).json()) == 10
    everything, pages = await walk(admin, f"/groups/{eng.id}/children", 10)
    assert len(everything) == 14
    assert pages == 2


async def test_get_group_and_404(admin: AdminGet, app: KeycloakSimulator) -> None:
    group = next(g for g in app.state.store.directory.groups.values() if g.parent_id)
    rep = (await admin(f"/groups/{group.id}")).json()
    assert rep["id"] == group.id
    assert rep["parentId"] == group.parent_id
    assert {"attributes", "subGroupCount", "access", "subGroups"} <= set(rep)
    for path in ("/groups/missing", "/groups/missing/children", "/groups/missing/members"):
        response = await admin(path)
        assert response.status_code == 404
        assert response.json() == {"error": "Could not find group by id"}


@pytest.mark.parametrize("size", [1, 13, 100])
async def test_members_walk_in_username_order(
    admin: AdminGet, app: KeycloakSimulator, size: int
) -> None:
    store = app.state.store
    group = max(store.directory.groups.values(), key=lambda g: len(g.members))
    members, _ = await walk(admin, f"/groups/{group.id}/members", size, briefRepresentation=True)
    assert {m["id"] for m in members} == group.members
    usernames = [m["username"] for m in members]
    assert usernames == sorted(usernames)
    assert len(usernames) == len(set(usernames))


async def test_members_representations_and_default_max(
    admin: AdminGet, app: KeycloakSimulator
) -> None:
    group = max(app.state.store.directory.groups.values(), key=lambda g: len(g.members))
    assert len(group.members) > 100
    full = (await admin(f"/groups/{group.id}/members")).json()
    brief = (await admin(f"/groups/{group.id}/members", briefRepresentation=True)).json()
    assert len(full) == len(brief) == 100
    assert all("attributes" in m and "access" not in m for m in full)
    assert all("attributes" not in m and "totp" not in m and "access" not in m for m in brief)
    empty = (await admin(f"/groups/{group.id}/members", first=len(group.members))).json()
    assert empty == []


async def test_writes_are_forbidden_for_a_read_only_service_account(
    app: KeycloakSimulator, admin: AdminGet
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kc"
    ) as client:
        token = await fetch_token(client)
        headers = {"Authorization": f"Bearer {token}"}
        created = await client.post(f"{ADMIN}/users", json={"username": "x"}, headers=headers)
        deleted = await client.delete(f"{ADMIN}/groups/abc", headers=headers)
    assert created.status_code == deleted.status_code == 403
    assert created.json() == {"error": "HTTP 403 Forbidden"}
