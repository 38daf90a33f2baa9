"""The simulator answers with the keys of the Okta samples in `golden/`, recursively."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from okta_sim_helpers import SSWS, FakeClock, assertion, token_form

from roster.simulators.okta import OktaSimulator

GOLDEN = Path(__file__).parent / "golden"
FREE_FORM = {"profile", "_links", "detail", "client"}
"""Maps whose keys depend on the org (custom attributes, links) or the request's origin."""


def missing_keys(golden: Any, actual: Any, where: str = "$") -> list[str]:
    """Keys the golden sample has that the simulator's answer lacks (lists: first item)."""
    if isinstance(golden, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object"]
        found: list[str] = []
        for key, value in golden.items():
            if key not in actual:
                found.append(f"{where}.{key}")
            elif key not in FREE_FORM:
                found += missing_keys(value, actual[key], f"{where}.{key}")
        return found
    if isinstance(golden, list) and golden:
        if not isinstance(actual, list) or not actual:
            return [f"{where}: expected a non-empty list"]
        return missing_keys(golden[0], actual[0], f"{where}[0]")
    return []


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


async def _log_event(client: httpx.AsyncClient, app: OktaSimulator) -> Any:
    group = min(
        (g for g in app.state.store.groups.values() if g.type == "OKTA_GROUP"),
        key=lambda g: len(g.members),
    )
    user = next(u for u in app.state.store.users.values() if u.id not in group.members)
    await client.put(f"/_sim/groups/{group.id}/members/{user.id}")
    return (await client.get("/api/v1/logs", headers=SSWS)).json()


@pytest.mark.parametrize(
    ("name", "path", "status"),
    [
        ("users.json", "/api/v1/users?limit=2", 200),
        ("groups.json", "/api/v1/groups", 200),
        ("error-invalid-token.json", "/api/v1/users", 401),
        ("error-not-found.json", "/api/v1/users/00unosuchuser0000000", 404),
    ],
)
async def test_api_answers_have_the_golden_keys(
    client: httpx.AsyncClient, name: str, path: str, status: int
) -> None:
    headers = {} if status == 401 else SSWS
    response = await client.get(path, headers=headers)
    assert response.status_code == status
    assert missing_keys(golden(name), response.json()) == []


async def test_group_and_app_group_have_the_golden_keys(client: httpx.AsyncClient) -> None:
    groups = (await client.get("/api/v1/groups", headers=SSWS)).json()
    one = (await client.get(f"/api/v1/groups/{groups[1]['id']}", headers=SSWS)).json()
    assert missing_keys(golden("group.json"), one) == []
    app_group = next(g for g in groups if g["type"] == "APP_GROUP")
    assert missing_keys(golden("groups.json")[2], app_group) == []


async def test_log_token_and_rate_limit_have_the_golden_keys(
    client: httpx.AsyncClient, app: OktaSimulator, clock: FakeClock
) -> None:
    assert missing_keys(golden("logs.json"), await _log_event(client, app)) == []
    token = (await client.post("/oauth2/v1/token", data=token_form(assertion(clock.now)))).json()
    assert missing_keys(golden("token.json"), token) == []
    await client.put("/_sim/rate-limits", json={"storm": 1})
    limited = (await client.get("/api/v1/users", headers=SSWS)).json()
    assert missing_keys(golden("error-rate-limit.json"), limited) == []


def test_the_key_check_can_fail() -> None:
    assert missing_keys({"a": {"b": 1}}, {"a": {}}) == ["$.a.b"]
    assert missing_keys([{"a": 1}], []) == ["$: expected a non-empty list"]
