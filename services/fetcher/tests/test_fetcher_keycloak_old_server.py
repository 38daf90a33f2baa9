"""Keycloak ≤ 22 shapes, from a hand-written fake server: the group tree in `subGroups`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fetcher_support import collect, directory_settings, hooks

from roster.fetcher.connectors.keycloak import KeycloakConnector
from roster.shared.errors import PermanentError

TREE = json.loads(
    (Path(__file__).parent / "golden" / "keycloak-22_admin_groups_tree.json").read_text()
)
ADMIN = "/admin/realms/roster"


def old_keycloak(seen: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        seen.append(path)
        if path.endswith("/protocol/openid-connect/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        first = int(request.url.params.get("first", "0"))
        if path == f"{ADMIN}/users":
            return httpx.Response(200, json=[])
        if path == f"{ADMIN}/groups":
            return httpx.Response(200, json=TREE[first:])
        if path.endswith("/members"):
            return httpx.Response(200, json=[{"id": "u1", "username": "u1"}] if first == 0 else [])
        return httpx.Response(404, json={"error": "RESTEASY003210: Could not find resource"})

    return httpx.MockTransport(handle)


async def test_groups_are_read_from_the_sub_groups_tree() -> None:
    seen: list[str] = []
    async with httpx.AsyncClient(transport=old_keycloak(seen)) as http:
        snap = await collect(KeycloakConnector(directory_settings(), http, hooks()))
    assert [(g.path, g.parent_id) for g in snap.groups] == [
        ("/eng", None),
        ("/eng/eng-platform", "5b8e0c1d-2a3f-4e5b-8c6d-7e8f9a0b1c2d"),
        ("/eng/eng-platform/eng-platform-oncall", "7d0a2e3f-4c5b-4a7d-8e8f-9a0b1c2d3e4f"),
        ("/Marketing Team", None),
    ]
    assert all(members == ["u1"] for members in snap.members.values())
    assert not any(p.endswith("/children") for p in seen), "the tree was complete: no /children"


async def test_a_server_that_ignores_max_is_refused_not_looped() -> None:
    everyone = [{"id": f"u{i}", "username": f"u{i}"} for i in range(150)]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        return httpx.Response(200, json=everyone)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        connector = KeycloakConnector(directory_settings(page_size=100), http, hooks())
        with pytest.raises(PermanentError, match="returned 150 items for max=100"):
            await collect(connector)
