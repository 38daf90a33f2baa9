"""Version gating: each endpoint answers 2xx from the release that shipped it and 404 before."""

from __future__ import annotations

from typing import Any

import pytest
from confluence_support import RPC, VERSIONS, SimFactory

NEW_USER = {
    "userName": "carol",
    "fullName": "Carol C",
    "email": "carol@example.com",
    "password": "pw",
}

# (method, path, json body, first version with the endpoint)
ENDPOINTS: list[tuple[str, str, Any, str]] = [
    ("GET", "/rest/api/user?username=alice", None, "7.13"),
    ("GET", "/rest/api/user/current", None, "7.13"),
    ("GET", "/rest/api/user/memberof?username=alice", None, "7.13"),
    ("GET", "/rest/api/group", None, "7.13"),
    ("GET", "/rest/api/group/team", None, "7.13"),
    ("GET", "/rest/api/group/team/member", None, "7.13"),
    ("GET", "/rest/applinks/1.0/manifest", None, "7.13"),
    ("POST", RPC, {"jsonrpc": "2.0", "id": 1, "method": "hasUser", "params": ["alice"]}, "7.13"),
    ("POST", f"{RPC}/getGroups", [], "7.13"),
    ("PUT", "/rest/api/admin/user/alice/disable", None, "8.2"),
    ("PUT", "/rest/api/admin/user/alice/enable", None, "8.2"),
    ("DELETE", "/rest/api/admin/user/alice", None, "8.2"),
    ("POST", "/rest/api/admin/group", {"name": "newgroup", "type": "group"}, "8.2"),
    ("DELETE", "/rest/api/admin/group/team", None, "8.2"),
    ("PUT", "/rest/api/user/alice/group/team", None, "8.2"),
    ("DELETE", "/rest/api/user/alice/group/team", None, "8.2"),
    ("GET", "/rest/api/user/list", None, "8.4"),
    ("POST", "/rest/api/admin/user", NEW_USER, "8.4"),
    (
        "PUT",
        "/rest/api/admin/user/alice",
        {"fullName": "Alice B", "email": "ab@example.com"},
        "9.3",
    ),
    ("GET", "/rest/api/admin/users/list/active", None, "9.3"),
]


def _at_least(version: str, since: str) -> bool:
    return tuple(map(int, version.split("."))) >= tuple(map(int, since.split(".")))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("method", "path", "body", "since"), ENDPOINTS)
async def test_endpoint_exists_from_its_release(
    make_sim: SimFactory, version: str, method: str, path: str, body: Any, since: str
) -> None:
    sim = await make_sim(version)
    await sim.seed([{"username": "alice", "groups": ["team"]}])
    response = await sim.client.request(method, path, json=body)
    if _at_least(version, since):
        assert 200 <= response.status_code < 300, response.text
    else:
        assert response.status_code == 404
        assert response.json()["statusCode"] == 404


@pytest.mark.parametrize("version", VERSIONS)
async def test_unknown_path_is_404_in_every_version(make_sim: SimFactory, version: str) -> None:
    sim = await make_sim(version)
    response = await sim.client.get("/rest/api/no/such/thing")
    assert response.status_code == 404


async def test_manifest_reports_version_and_needs_no_auth(make_sim: SimFactory) -> None:
    sim = await make_sim("8.2")
    response = await sim.client.get("/rest/applinks/1.0/manifest", auth=None)
    assert response.status_code == 200
    assert response.json()["version"] == "8.2.0"
    xml = await sim.client.get("/rest/applinks/1.0/manifest", headers={"Accept": "*/*"})
    assert xml.text.startswith("<manifest>")
