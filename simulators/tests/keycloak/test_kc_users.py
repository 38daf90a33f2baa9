"""`/users` paging, filters and representations, as a sync client walks them."""

from __future__ import annotations

import httpx
import pytest
from kc_helpers import AdminGet, fetch_token, walk

from roster.simulators.keycloak import KeycloakSimulator

BRIEF_KEYS = {
    "id",
    "username",
    "firstName",
    "lastName",
    "email",
    "emailVerified",
    "createdTimestamp",
    "enabled",
    "access",
}
FULL_EXTRA = {"attributes", "totp", "disableableCredentialTypes", "requiredActions", "notBefore"}


@pytest.mark.parametrize("size", [1, 7, 100, 250, 1000])
async def test_walk_returns_every_user_once_in_username_order(
    admin: AdminGet, app: KeycloakSimulator, size: int
) -> None:
    users, pages = await walk(admin, "/users", size)
    usernames = [u["username"] for u in users]
    assert len(usernames) == 250 == len(set(usernames))
    assert usernames == sorted(usernames)
    assert pages == 250 // size + 1  # an exact multiple still needs one short (empty) page
    assert "service-account-roster-sync" not in usernames
    expected = {u.username for u in app.state.store.directory.users.values()}
    assert set(usernames) == expected


async def test_page_boundaries(admin: AdminGet) -> None:
    everyone = (await admin("/users", max=-1)).json()
    assert len(everyone) == 250
    assert (await admin("/users", first=249, max=5)).json() == everyone[249:]
    assert (await admin("/users", first=250, max=5)).json() == []
    assert (await admin("/users", first=10, max=0)).json() == []
    assert (await admin("/users", first=-3, max=2)).json() == everyone[:2]
    assert len((await admin("/users")).json()) == 100  # default max


async def test_count_matches_walk(admin: AdminGet) -> None:
    assert (await admin("/users/count")).json() == 250


async def test_brief_and_full_representations(admin: AdminGet) -> None:
    full = (await admin("/users", max=50)).json()
    brief = (await admin("/users", max=50, briefRepresentation=True)).json()
    assert [u["id"] for u in full] == [u["id"] for u in brief]
    assert all(set(u) == BRIEF_KEYS for u in brief)
    assert all(set(u) == BRIEF_KEYS | FULL_EXTRA for u in full)
    assert all(isinstance(v, list) for u in full for v in u["attributes"].values())


@pytest.mark.parametrize("value", ["abc", "1.5", "99999999999"])
async def test_non_integer_paging_value_is_a_404(admin: AdminGet, value: str) -> None:
    response = await admin("/users", first=value)
    assert response.status_code == 404


async def test_search_is_prefix_per_word_and_hides_service_account(
    admin: AdminGet, app: KeycloakSimulator
) -> None:
    someone = next(iter(app.state.store.directory.users.values()))
    prefix = someone.username[:3]
    found = (await admin("/users", search=prefix, max=-1)).json()
    assert someone.id in {u["id"] for u in found}
    for user in found:
        values = [
            user["username"],
            user["email"],
            user["firstName"].lower(),
            user["lastName"].lower(),
        ]
        assert any(v.startswith(prefix) for v in values)
    assert (await admin("/users", search="service-account")).json() == []
    exact = (await admin("/users", search=f'"{someone.username}"')).json()
    assert [u["id"] for u in exact] == [someone.id]
    infix = (await admin("/users", search=f"*{someone.username[2:]}")).json()
    assert someone.id in {u["id"] for u in infix}
    count = (await admin("/users/count", search=prefix)).json()
    assert count == len(found)


async def test_attribute_filters_include_service_account(admin: AdminGet) -> None:
    found = (await admin("/users", username="service-account")).json()
    assert [u["username"] for u in found] == ["service-account-roster-sync"]
    assert "email" not in found[0]
    assert "firstName" not in found[0]
    assert (await admin("/users/count", username="service-account")).json() == 1


async def test_exact_username_and_email(admin: AdminGet, app: KeycloakSimulator) -> None:
    someone = next(iter(app.state.store.directory.users.values()))
    by_name = (await admin("/users", username=someone.username.upper(), exact=True)).json()
    assert [u["id"] for u in by_name] == [someone.id]
    by_mail = (await admin("/users", email=someone.email, exact=True)).json()
    assert [u["id"] for u in by_mail] == [someone.id]
    partial = (await admin("/users", username=someone.username[:-1], exact=True)).json()
    assert someone.id not in {u["id"] for u in partial}


async def test_enabled_filter(admin: AdminGet, app: KeycloakSimulator) -> None:
    disabled = {u.id for u in app.state.store.directory.users.values() if not u.enabled}
    found = (await admin("/users", enabled=False, max=-1)).json()
    assert {u["id"] for u in found} == disabled
    assert all(u["enabled"] is False for u in found)


async def test_get_user_and_404(admin: AdminGet, app: KeycloakSimulator) -> None:
    someone = next(iter(app.state.store.directory.users.values()))
    user = (await admin(f"/users/{someone.id}")).json()
    assert user["username"] == someone.username
    assert user["attributes"]["employeeNumber"] == [someone.attributes["employeeNumber"]]
    missing = await admin("/users/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json() == {"error": "User not found"}
    assert (await admin("/users/nope/groups")).status_code == 404


async def test_user_groups(admin: AdminGet, app: KeycloakSimulator) -> None:
    store = app.state.store
    member = next(uid for uid in store.directory.users if len(store.groups_of(uid)) >= 2)
    groups = (await admin(f"/users/{member}/groups")).json()
    expected = sorted(
        (g for g in store.directory.groups.values() if member in g.members), key=lambda g: g.name
    )
    assert [g["id"] for g in groups] == [g.id for g in expected]
    assert all(g["path"].endswith("/" + g["name"]) for g in groups)
    assert all("attributes" not in g for g in groups)  # brief by default
    assert (
        "attributes"
        in (await admin(f"/users/{member}/groups", briefRepresentation=False)).json()[0]
    )
    assert (await admin(f"/users/{member}/groups/count")).json() == {"count": len(expected)}


async def test_unknown_realm_and_resource(admin: AdminGet, client: httpx.AsyncClient) -> None:
    token = await fetch_token(client)
    other = await client.get(
        "/admin/realms/other/users", headers={"Authorization": f"Bearer {token}"}
    )
    assert other.status_code == 404
    assert other.json() == {"error": "Realm not found."}
    assert (await admin("/clients")).status_code == 404
    assert (await admin("")).status_code == 403  # the realm itself needs view-realm
