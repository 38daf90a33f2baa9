"""Control routes: mutations show in later reads and as admin events; clear, faults, request log."""

from __future__ import annotations

import json

import httpx
import pytest
from kc_helpers import ADMIN, SECRET, TOKEN_PATH, AdminGet, FakeClock, walk

from roster.simulators.common.faults import DroppedConnectionError
from roster.simulators.keycloak import KeycloakSimConfig, KeycloakSimulator, create_app


def _first_user(app: KeycloakSimulator) -> str:
    return next(iter(app.state.store.directory.users))


def _group_named(app: KeycloakSimulator, name: str) -> str:
    return next(g.id for g in app.state.store.directory.groups.values() if g.name == name)


async def test_add_user_is_listed_counted_and_recorded(
    client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator, clock: FakeClock
) -> None:
    group = _group_named(app, "QA Leads")
    response = await client.post(
        "/_sim/users",
        json={
            "username": "Zed.Newcomer",
            "firstName": "Zed",
            "lastName": "Newcomer",
            "email": "Zed@Example.com",
            "attributes": {"department": "QA"},
            "groups": [group],
        },
    )
    assert response.status_code == 201
    user = response.json()
    assert user["username"] == "zed.newcomer"
    assert user["email"] == "zed@example.com"
    assert (await admin("/users/count")).json() == 251
    listed, _ = await walk(admin, "/users", 100)
    assert "zed.newcomer" in [u["username"] for u in listed]
    members = (await admin(f"/groups/{group}/members", max=-1)).json()
    assert user["id"] in {m["id"] for m in members}
    events = (await admin("/admin-events", direction="asc")).json()
    assert [(e["operationType"], e["resourceType"], e["resourcePath"]) for e in events] == [
        ("CREATE", "USER", f"users/{user['id']}"),
        ("CREATE", "GROUP_MEMBERSHIP", f"users/{user['id']}/groups/{group}"),
    ]
    assert events[0]["time"] == int(clock.now * 1000)
    assert json.loads(events[0]["representation"])["username"] == "zed.newcomer"
    assert json.loads(events[1]["representation"])["id"] == group
    duplicate = await client.post("/_sim/users", json={"username": "zed.newcomer"})
    assert duplicate.status_code == 409


async def test_rename_moves_user_in_username_order(
    client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator
) -> None:
    uid = _first_user(app)
    response = await client.patch(
        f"/_sim/users/{uid}",
        json={
            "username": "aaaa.first",
            "lastName": "First",
            "enabled": False,
        },
    )
    assert response.status_code == 200
    first_page = (await admin("/users", max=1)).json()
    assert first_page[0]["id"] == uid
    assert first_page[0]["enabled"] is False
    assert first_page[0]["lastName"] == "First"
    assert (await admin(f"/users/{uid}")).json()["username"] == "aaaa.first"
    events = (await admin("/admin-events")).json()
    assert [(e["operationType"], e["resourcePath"]) for e in events] == [("UPDATE", f"users/{uid}")]
    again = await client.patch(f"/_sim/users/{uid}", json={"username": "aaaa.first"})
    assert again.status_code == 200
    assert len((await admin("/admin-events")).json()) == 1  # nothing changed, no event


async def test_delete_user_leaves_groups_and_records_only_user_event(
    client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator
) -> None:
    store = app.state.store
    uid = next(u for u in store.directory.users if store.groups_of(u))
    groups = [g.id for g in store.groups_of(uid)]
    assert (await client.delete(f"/_sim/users/{uid}")).status_code == 204
    assert (await admin(f"/users/{uid}")).status_code == 404
    for gid in groups:
        members = (await admin(f"/groups/{gid}/members", max=-1)).json()
        assert uid not in {m["id"] for m in members}
    events = (await admin("/admin-events")).json()
    assert [(e["operationType"], e["resourceType"]) for e in events] == [("DELETE", "USER")]
    assert "representation" not in events[0]
    assert (await client.delete(f"/_sim/users/{uid}")).status_code == 404


async def test_membership_changes_are_idempotent(
    client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator
) -> None:
    store = app.state.store
    gid = _group_named(app, "legal")
    uid = next(u for u in store.directory.users if u not in store.directory.groups[gid].members)
    path = f"/_sim/groups/{gid}/members/{uid}"
    assert (await client.put(path)).json() == {"changed": True}
    assert (await client.put(path)).json() == {"changed": False}
    assert gid in {g["id"] for g in (await admin(f"/users/{uid}/groups")).json()}
    assert (await client.delete(path)).json() == {"changed": True}
    assert (await client.delete(path)).json() == {"changed": False}
    assert gid not in {g["id"] for g in (await admin(f"/users/{uid}/groups")).json()}
    events = (await admin("/admin-events", resourceTypes="GROUP_MEMBERSHIP")).json()
    assert [e["operationType"] for e in events] == ["DELETE", "CREATE"]  # newest first
    assert (await client.put(f"/_sim/groups/{gid}/members/nobody")).status_code == 404


async def test_group_create_rename_delete(
    client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator
) -> None:
    eng = _group_named(app, "eng")
    created = await client.post("/_sim/groups", json={"name": "eng-tools", "parentId": eng})
    assert created.status_code == 201
    gid = created.json()["id"]
    assert created.json()["path"] == "/eng/eng-tools"
    conflict = await client.post("/_sim/groups", json={"name": "eng-tools", "parentId": eng})
    assert conflict.status_code == 409
    renamed = await client.patch(f"/_sim/groups/{gid}", json={"name": "Eng Tools"})
    assert renamed.json()["path"] == "/eng/Eng Tools"
    children = (await admin(f"/groups/{eng}/children")).json()
    assert "Eng Tools" in [c["name"] for c in children]
    removed = (await client.delete(f"/_sim/groups/{eng}")).json()["removed"]
    assert gid in removed
    assert eng in removed
    assert len(removed) == 6
    assert (await admin(f"/groups/{gid}")).status_code == 404
    events = (await admin("/admin-events", direction="asc", resourceTypes="GROUP")).json()
    assert [(e["operationType"], e["resourcePath"]) for e in events] == [
        ("CREATE", f"groups/{eng}/children"),
        ("UPDATE", f"groups/{gid}"),
        ("DELETE", f"groups/{eng}"),
    ]


async def test_admin_event_filters(
    client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator, clock: FakeClock
) -> None:
    ids = list(app.state.store.directory.users)[:5]
    for index, uid in enumerate(ids):
        await client.patch(f"/_sim/users/{uid}", json={"firstName": f"Renamed{index}"})
        clock.advance(30)
    events = (await admin("/admin-events")).json()
    assert len(events) == 5
    times = [e["time"] for e in events]
    assert times == sorted(times, reverse=True)
    since = (await admin("/admin-events", dateFrom=times[2])).json()
    assert [e["time"] for e in since] == times[:3]
    day = (await admin("/admin-events", dateFrom="2025-06-15", dateTo="2025-06-15")).json()
    assert len(day) == 5  # the fake clock's day (2025-06-15 UTC)
    assert (await admin("/admin-events", dateFrom="2025-06-16")).json() == []
    page = (await admin("/admin-events", direction="asc", first=1, max=2)).json()
    assert [e["time"] for e in page] == sorted(times)[1:3]
    assert (await admin("/admin-events", operationTypes="DELETE")).json() == []
    by_path = (await admin("/admin-events", resourcePath=f"users/{ids[0][:8]}*")).json()
    assert [e["resourcePath"] for e in by_path] == [f"users/{ids[0]}"]
    assert (await admin("/admin-events", max=2)).json() == events[:2]


@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        (
            {"direction": "sideways"},
            400,
            {"error": "Invalid value for sortDirection, expected value is asc or desc"},
        ),
        (
            {"dateFrom": "yesterday"},
            400,
            {
                "error": "Invalid value for 'dateFrom', expected format is yyyy-MM-dd or an Epoch "
                "timestamp"
            },
        ),
        (
            {"operationTypes": "RENAME"},
            500,
            {
                "error": "unknown_error",
                "error_description": "For more on this error consult the server log.",
            },
        ),
    ],
)
async def test_admin_event_bad_parameters(
    admin: AdminGet, params: dict[str, str], status: int, body: dict[str, str]
) -> None:
    response = await admin("/admin-events", **params)
    assert response.status_code == status
    assert response.json() == body


async def test_clear_gives_an_empty_realm(client: httpx.AsyncClient, admin: AdminGet) -> None:
    await client.patch(
        f"/_sim/users/{(await admin('/users', max=1)).json()[0]['id']}", json={"firstName": "X"}
    )
    assert (await client.post("/_sim/clear")).json() == {"users": 0, "groups": 0, "memberships": 0}
    assert (await admin("/users")).json() == []
    assert (await admin("/users/count")).json() == 0
    assert (await admin("/groups")).json() == []
    assert (await admin("/admin-events")).json() == []
    still_there = (await admin("/users", username="service-account", exact=False)).json()
    assert len(still_there) == 1


async def test_regenerate_and_export(client: httpx.AsyncClient, admin: AdminGet) -> None:
    summary = (
        await client.post(
            "/_sim/directory", json={"users": 40, "groups": 6, "memberships": 80, "seed": 3}
        )
    ).json()
    assert summary["users"] == 40
    assert summary["groups"] == 6
    exported = (await client.get("/_sim/directory")).json()
    assert exported["realm"] == "roster"
    assert {u["id"] for u in exported["users"]} == {
        u["id"] for u in (await admin("/users", max=-1)).json()
    }
    assert sum(len(m) for m in exported["memberships"].values()) == summary["memberships"]
    for gid, members in exported["memberships"].items():
        listed = (await admin(f"/groups/{gid}/members", max=-1)).json()
        assert sorted(m["id"] for m in listed) == members
    bad = await client.post("/_sim/directory", json={"users": -1})
    assert bad.status_code == 422


async def test_faults_with_seed_replay_the_same_sequence(config: KeycloakSimConfig) -> None:
    faults = {"error_rate": 0.5, "error_status": 503, "seed": 42}
    sequences = []
    for _ in range(2):  # two fresh simulators, same seed: the same requests fail
        app = create_app(config)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://kc"
        ) as client:
            assert (await client.put("/_sim/faults", json=faults)).status_code == 200
            token = await fetch_token_despite_faults(client)
            headers = {"Authorization": f"Bearer {token}"}
            sequences.append(
                [
                    (await client.get(f"{ADMIN}/users/count", headers=headers)).status_code
                    for _ in range(20)
                ]
            )
            assert (await client.get("/_sim/faults")).json()["error_rate"] == 0.5
            assert (await client.get("/_sim/directory")).status_code == 200  # exempt
            await client.put("/_sim/faults", json={})
            assert (await client.get(f"{ADMIN}/users/count", headers=headers)).status_code == 200
    assert sequences[0] == sequences[1]
    assert set(sequences[0]) == {200, 503}


async def fetch_token_despite_faults(client: httpx.AsyncClient) -> str:
    for _ in range(50):
        response = await client.post(
            TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": "roster-sync",
                "client_secret": SECRET,
            },
        )
        if response.status_code == 200:
            return str(response.json()["access_token"])
        assert response.json() == {"statusCode": 503, "message": "injected fault"}
    raise AssertionError("no token in 50 tries")


async def test_dropped_connection_is_a_transport_error(
    client: httpx.AsyncClient, admin: AdminGet
) -> None:
    await client.put("/_sim/faults", json={"drop_rate": 1.0})
    with pytest.raises(DroppedConnectionError):  # in-process; over TCP a RemoteProtocolError
        await admin("/users")
    log = (await client.get("/_sim/requests")).json()
    assert log[-1]["effect"] == "dropped"
    assert log[-1]["status"] is None


async def test_request_log(
    client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator
) -> None:
    uid = _first_user(app)
    await admin("/users", max=5)
    await admin(f"/users/{uid}")
    await admin("/users/missing")
    await client.get("/_sim/directory")
    log = (await client.get("/_sim/requests")).json()
    assert [(e["op"], e["effect"], e["status"]) for e in log] == [
        ("token", "read", 200),
        ("list_users", "read", 200),
        ("get_user", "read", 200),
        ("get_user", "rejected", 404),
    ]
    assert log[2]["target"] == uid
    assert log[1]["query"] == "max=5"
    assert (await client.get("/_sim/requests", params={"since": 3})).json() == log[3:]
    assert (await client.delete("/_sim/requests")).status_code == 204
    assert (await client.get("/_sim/requests")).json() == []
