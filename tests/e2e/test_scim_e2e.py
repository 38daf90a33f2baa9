"""SCIM end to end on real Kafka and Redis, every service a process as `make up` starts them:
a user POSTed to the fetcher's SCIM endpoint appears in the Confluence simulator, `active:
false` deactivates it there, and the SCIM history shows the requests."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from demo import sync  # noqa: E402
from e2e_support import running_stack  # noqa: E402
from localstack import SCIM_DEMO_TOKEN, Stack  # noqa: E402

SCIM = "application/scim+json"


@pytest.fixture
def stack(tmp_path: Path, stack_env: dict[str, str]) -> Iterator[Stack]:
    with running_stack(tmp_path, users=20, groups=2, memberships=40) as s:
        yield s


def _confluence_user(stack: Stack, username: str) -> dict[str, Any] | None:
    state = httpx.get(f"{stack.confluence}/_sim/state", timeout=30).json()
    return next((u for u in state["users"] if u["username"] == username), None)


def _wait_for(stack: Stack, username: str, check: Any, timeout: float = 60) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        user = _confluence_user(stack, username)
        if user is not None and check(user):
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"{username}: not as expected in Confluence after {timeout} s")


def _active_users(stack: Stack) -> set[str]:
    state = httpx.get(f"{stack.confluence}/_sim/state", timeout=30).json()
    return {u["username"] for u in state["users"] if u["active"]}


def test_scim_user_reaches_confluence_and_is_deactivated(stack: Stack) -> None:
    pulled = sync(stack.api, "kc", timeout=300)  # the demo's other directory, pulled
    assert pulled["status"] == "succeeded"
    kc_users = _active_users(stack)
    assert len(kc_users) >= 10
    fetcher = f"http://127.0.0.1:{stack.service_ports['fetcher']}"
    headers = {"Authorization": f"Bearer {SCIM_DEMO_TOKEN}", "Content-Type": SCIM}
    with httpx.Client(base_url=f"{fetcher}/scim/v2", headers=headers, timeout=30) as scim:
        first = scim.post(
            "/Users",
            json={
                "userName": "scim-alice",
                "name": {"givenName": "Alice", "familyName": "Scim"},
                "emails": [{"value": "alice@scim.example", "type": "work", "primary": True}],
                "active": True,
            },
        )
        assert first.status_code == 201, first.text
        # the first batch has no cursor yet: a full run of the directory
        _wait_for(stack, "scim-alice", lambda u: u["active"] is True)

        second = scim.post(
            "/Users",
            json={"userName": "scim-bob", "emails": [{"value": "bob@scim.example"}]},
        )
        assert second.status_code == 201, second.text
        seconds = _wait_for(stack, "scim-bob", lambda u: u["active"] is True)
        print(f"scim-bob reached Confluence in {seconds:.2f} s")

        off = scim.patch(
            f"/Users/{second.json()['id']}",
            json={"Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
        )
        assert off.status_code == 200, off.text
        _wait_for(stack, "scim-bob", lambda u: u["active"] is False)
        assert _confluence_user(stack, "scim-alice")["active"] is True
        assert kc_users <= _active_users(stack)  # the SCIM directory left the other one alone

    history = httpx.get(f"{fetcher}/api/v1/directories/scim/scim/history", timeout=30).json()
    statuses = [e["status"] for w in history["windows"] for e in w["entries"]]
    assert sorted(statuses) == [200, 201, 201]
    # each micro-batch is a run of its own in the normal run history, with per-user results
    deadline = time.monotonic() + 60
    operations: set[str] = set()
    while time.monotonic() < deadline and not {"CreateUser", "DeactivateUser"} <= operations:
        runs = httpx.get(
            f"{stack.api}/api/v1/runs",
            params={"limit": 200},
            headers=stack.api_headers,
            timeout=30,
        ).json()
        scim_runs = [r for r in runs if r.get("directory") == "scim"]
        assert scim_runs
        assert {r.get("trigger") for r in scim_runs} == {"scim"}
        operations = set()
        for run in scim_runs:
            results = httpx.get(
                f"{stack.api}/api/v1/runs/{run['run_id']}/results",
                headers=stack.api_headers,
                timeout=30,
            )
            operations |= {r["operation"] for r in results.json()}
        time.sleep(0.5)
    assert {"CreateUser", "DeactivateUser"} <= operations
