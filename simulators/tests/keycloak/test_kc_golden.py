"""The simulator's responses have the keys of the Keycloak 26 samples in `golden/`, recursively."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from kc_helpers import TOKEN_PATH, AdminGet

from roster.simulators.keycloak import KeycloakSimulator

GOLDEN = Path(__file__).parent / "golden"
FREE_FORM = {"attributes", "clientRoles"}
"""Maps whose keys are data (attribute names), not schema."""

Fetch = Callable[[httpx.AsyncClient, AdminGet, KeycloakSimulator], Awaitable[Any]]


def _group(app: KeycloakSimulator, name: str) -> str:
    return next(g.id for g in app.state.store.directory.groups.values() if g.name == name)


async def _token(client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator) -> Any:
    return (
        await client.post(
            TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": "roster-sync",
                "client_secret": app.state.config.client_secret,
            },
        )
    ).json()


async def _bad_secret(client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator) -> Any:
    return (
        await client.post(
            TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": "roster-sync",
                "client_secret": "wrong",
            },
        )
    ).json()


async def _events(client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator) -> Any:
    uid = next(iter(app.state.store.directory.users))
    gid = _group(app, "eng-platform")
    await client.delete(f"/_sim/groups/{gid}/members/{uid}")
    await client.put(f"/_sim/groups/{gid}/members/{uid}")
    return (await admin("/admin-events", max=1)).json()


def _get(path: str, **params: object) -> Fetch:
    async def fetch(client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator) -> Any:
        resolved = path.format(
            user=next(iter(app.state.store.directory.users)),
            eng=_group(app, "eng"),
            platform=_group(app, "eng-platform"),
            member=min(app.state.store.directory.groups[_group(app, "eng-platform")].members),
        )
        return (await admin(resolved, **params)).json()

    return fetch


SOURCES: dict[str, Fetch] = {
    "keycloak-26.token.client-credentials.json": _token,
    "keycloak-26.token.error-unauthorized-client.json": _bad_secret,
    "keycloak-26.admin.error-user-not-found.json": _get("/users/no-such-user"),
    "keycloak-26.admin.users.full.json": _get("/users", max=3),
    "keycloak-26.admin.users.brief.json": _get("/users", max=3, briefRepresentation=True),
    "keycloak-26.admin.user.json": _get("/users/{user}"),
    "keycloak-26.admin.user-groups.json": _get("/users/{member}/groups", search="eng-platform"),
    "keycloak-26.admin.groups.json": _get("/groups", search="eng", exact=True),
    "keycloak-26.admin.groups.search.json": _get("/groups", search="oncall"),
    "keycloak-26.admin.group.json": _get("/groups/{platform}"),
    "keycloak-26.admin.group-children.json": _get("/groups/{eng}/children"),
    "keycloak-26.admin.group-members.full.json": _get("/groups/{platform}/members"),
    "keycloak-26.admin.group-members.brief.json": _get(
        "/groups/{platform}/members", briefRepresentation=True
    ),
    "keycloak-26.admin.admin-events.json": _events,
}


def assert_same_keys(golden: Any, actual: Any, where: str = "$") -> None:
    if isinstance(golden, dict):
        assert isinstance(actual, dict), where
        if where.rsplit(".", 1)[-1] in FREE_FORM:
            return
        assert set(actual) == set(golden), f"{where}: {sorted(set(actual) ^ set(golden))}"
        for key, value in golden.items():
            assert_same_keys(value, actual[key], f"{where}.{key}")
    elif isinstance(golden, list):
        assert isinstance(actual, list), where
        if golden and actual:
            assert_same_keys(golden[0], actual[0], f"{where}[0]")
    elif isinstance(golden, str) and golden.startswith("{"):
        assert_same_keys(json.loads(golden), json.loads(actual), f"{where}<json>")
    else:
        assert type(actual) is type(golden), f"{where}: {type(actual)} vs {type(golden)}"


def test_every_sample_is_checked() -> None:
    assert {p.name for p in GOLDEN.glob("*.json")} == set(SOURCES)


@pytest.mark.parametrize("name", sorted(SOURCES))
async def test_response_has_the_keys_of_the_sample(
    name: str, client: httpx.AsyncClient, admin: AdminGet, app: KeycloakSimulator
) -> None:
    golden = json.loads((GOLDEN / name).read_text())
    actual = await SOURCES[name](client, admin, app)
    if isinstance(golden, list):
        assert actual, f"{name}: the simulator returned an empty list"
    assert_same_keys(golden, actual)


def test_checker_catches_a_missing_key() -> None:
    with pytest.raises(AssertionError):
        assert_same_keys([{"id": "a", "subGroups": []}], [{"id": "a"}])
    with pytest.raises(AssertionError):
        assert_same_keys({"time": 1}, {"time": "1"})
