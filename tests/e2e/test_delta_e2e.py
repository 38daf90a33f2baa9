"""Incremental syncs end to end, as separate processes on real Kafka and Redis: a full sync,
Keycloak changes (rename, disable, membership) applied by a delta sync with only the affected
writes, a new user applied by a single-user sync at login, and cursor expiry → a full sync.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from demo import compare, sync  # noqa: E402
from e2e_support import running_stack  # noqa: E402
from localstack import Stack  # noqa: E402


@pytest.fixture
def stack(tmp_path: Path, stack_env: dict[str, str]) -> Iterator[Stack]:
    with running_stack(tmp_path, users=120, groups=6, memberships=400) as s:
        yield s


def kc(stack: Stack, method: str, path: str, **body: Any) -> Any:
    response = httpx.request(method, f"{stack.keycloak}/_sim{path}", json=body or None, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


def matches(stack: Stack) -> list[str]:
    want = stack.plugin.expected(stack)
    with httpx.Client(base_url=stack.confluence, auth=("admin", "admin"), timeout=30) as client:
        return compare(client, want)


def writes_since(stack: Stack, mark: int) -> list[dict[str, Any]]:
    body = httpx.get(f"{stack.confluence}/_sim/requests", params={"since": mark}, timeout=30)
    return [e for e in body.json()["entries"] if e["effect"] == "applied"]


def mark(stack: Stack) -> int:
    return int(httpx.get(f"{stack.confluence}/_sim/requests", timeout=30).json()["count"])


def delta_sync(stack: Stack, timeout: float = 120) -> dict[str, Any]:
    body = {"directory": "kc", "mode": "delta", "trigger": "test"}
    answer = httpx.post(f"{stack.api}/api/v1/syncs", json=body, headers=stack.api_headers)
    run_id = answer.raise_for_status().json()["run_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = f"{stack.api}/api/v1/runs/{run_id}"
        run: dict[str, Any] = httpx.get(url, headers=stack.api_headers).json()
        if run.get("status") not in (None, "running"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"delta run {run_id} did not finish in {timeout:.0f} s")


def test_delta_single_user_and_cursor_expiry(stack: Stack) -> None:
    first = sync(stack.api, "kc", timeout=300)
    assert first["status"] == "succeeded"
    assert matches(stack) == []

    # Keycloak changes: a rename, a disable, one membership moved
    directory = kc(stack, "GET", "/directory")
    users = {u["id"]: u for u in directory["users"]}
    memberships = directory["memberships"]
    renamed, disabled = directory["users"][0], directory["users"][1]
    source = next(
        g for g, m in memberships.items() if m and set(m) - {renamed["id"], disabled["id"]}
    )
    mover = users[next(s for s in memberships[source] if s not in (renamed["id"], disabled["id"]))]
    target = next(g for g, m in memberships.items() if mover["id"] not in m)
    kc(stack, "PATCH", f"/users/{renamed['id']}", firstName="Delta", lastName="Renamed")
    kc(stack, "PATCH", f"/users/{disabled['id']}", enabled=False)
    kc(stack, "DELETE", f"/groups/{source}/members/{mover['id']}")
    kc(stack, "PUT", f"/groups/{target}/members/{mover['id']}")
    before = mark(stack)
    reads = len(kc(stack, "GET", "/requests"))
    run = delta_sync(stack)
    assert run["status"] == "succeeded", run
    ops = {e.get("op") for e in kc(stack, "GET", "/requests")[reads:]}
    assert "admin_events" in ops
    assert "list_users" not in ops, "a delta reads admin events, not the whole realm"
    assert matches(stack) == []
    writes = writes_since(stack, before)
    touched = {e["target"] for e in writes}
    affected = {renamed["username"], disabled["username"], mover["username"]}
    assert touched <= affected, writes
    assert renamed["username"] in touched
    assert disabled["username"] in touched
    assert mover["username"] in touched
    assert len(writes) == run["commands"]
    assert run["commands"] <= 5, writes  # update, deactivate, one removal and one addition

    # a new IdP user logs in: single-user sync at the fetcher, waiting for the result
    group = next(iter(memberships))
    new = kc(stack, "POST", "/users", username="newcomer", email="newcomer@example.com",
             firstName="New", lastName="Comer", groups=[group])  # fmt: skip
    fetcher = f"http://127.0.0.1:{stack.service_ports['fetcher']}"
    answer = httpx.post(
        f"{fetcher}/api/v1/directories/kc/users/{new['id']}:sync",
        params={"wait": "true", "timeout": "60"},
        timeout=90,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "succeeded"
    state = httpx.get(f"{stack.confluence}/_sim/state", timeout=30).json()
    assert "newcomer" in {u["username"] for u in state["users"]}
    group_name = next(g["name"] for g in directory["groups"] if g["id"] == group).lower()
    assert "newcomer" in {m.lower() for m in _members(state, group_name)}

    # the realm's admin events expired: the next delta runs a full snapshot instead
    kc(stack, "DELETE", "/admin-events")
    kc(stack, "PATCH", f"/users/{renamed['id']}", firstName="After", lastName="Expiry")
    reads = len(kc(stack, "GET", "/requests"))
    run = delta_sync(stack)
    assert run["status"] == "succeeded", run
    listed = [e for e in kc(stack, "GET", "/requests")[reads:] if e.get("op") == "list_users"]
    assert listed, "a full snapshot lists the users"
    assert matches(stack) == []


def _members(state: dict[str, Any], group: str) -> list[str]:
    memberships = state["memberships"]
    if isinstance(memberships, dict):
        return list(memberships.get(group, []))
    return [m["username"] for m in memberships if m["group"].lower() == group]
