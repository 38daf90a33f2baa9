"""The whole pipeline on real Kafka and Redis: fetcher → reconciler → writer → Confluence
simulator → results → run summary, as separate processes started like `make up` does.
"""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from demo import compare, sync  # noqa: E402
from e2e_support import running_stack  # noqa: E402
from localstack import Stack, start_process, stop_process  # noqa: E402


@pytest.fixture
def stack(tmp_path: Path, stack_env: dict[str, str]) -> Iterator[Stack]:
    with running_stack(tmp_path, users=150, groups=8, memberships=600) as s:
        yield s


def _directory(stack: Stack) -> dict[str, Any]:
    return dict(httpx.get(f"{stack.keycloak}/_sim/directory", timeout=30).json())


def _confluence_state(stack: Stack) -> dict[str, Any]:
    return dict(httpx.get(f"{stack.confluence}/_sim/state", timeout=30).json())


def _check_matches(stack: Stack) -> None:
    with httpx.Client(base_url=stack.confluence, auth=("admin", "admin"), timeout=30) as client:
        problems = compare(client, stack.plugin.expected(stack))
    assert problems == []


def _applied_twice(stack: Stack) -> list[tuple[Any, ...]]:
    log = httpx.get(f"{stack.confluence}/_sim/requests", timeout=60).json()["entries"]
    applied = Counter(
        (e["op"], e.get("target"), e.get("group")) for e in log if e["effect"] == "applied"
    )
    return [k for k, n in applied.items() if n > 1]


def test_full_sync_then_idle_sync_writes_nothing(stack: Stack) -> None:
    first = sync(stack.api, "kc", timeout=300)
    assert first["status"] == "succeeded"
    assert first["summary"]["create_users"] > 100
    assert first["done"] == first["commands"] > 0
    state = _confluence_state(stack)
    assert len(state["users"]) > 100
    _check_matches(stack)

    second = sync(stack.api, "kc", timeout=300)
    assert second["status"] == "succeeded"
    assert second["commands"] == 0
    assert _applied_twice(stack) == []

    # an IdP change flows through: one user disabled, one renamed display name
    users = _directory(stack)["users"]
    gone, renamed = users[0], users[1]
    httpx.patch(
        f"{stack.keycloak}/_sim/users/{gone['id']}", json={"enabled": False}
    ).raise_for_status()
    httpx.patch(
        f"{stack.keycloak}/_sim/users/{renamed['id']}", json={"firstName": "Renamed"}
    ).raise_for_status()
    third = sync(stack.api, "kc", timeout=300)
    assert third["summary"]["deactivate_users"] == 1
    assert third["summary"]["update_users"] == 1
    by_name = {u["username"]: u for u in _confluence_state(stack)["users"]}
    assert by_name[gone["username"].lower()]["active"] is False
    assert by_name[renamed["username"].lower()]["displayName"].startswith("Renamed")

    url = f"{stack.api}/api/v1/runs/{third['run_id']}/results"
    results = httpx.get(url, headers=stack.api_headers).json()
    assert {r["operation"] for r in results} == {"DeactivateUser", "UpdateUser"}


def test_writer_killed_mid_sync_completes_without_double_writes(stack: Stack) -> None:
    body = {"directory": "kc"}
    started = httpx.post(f"{stack.api}/api/v1/syncs", json=body, headers=stack.api_headers).json()
    run_id = started["run_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = httpx.get(f"{stack.api}/api/v1/runs/{run_id}", headers=stack.api_headers).json()
        if run.get("commands") and run["done"] >= 100:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the sync never got under way")
    assert run["done"] < run["commands"], "sync finished before the writer could be killed"
    stop_process(stack, "confluence-writer", signal.SIGKILL)
    start_process(stack, "confluence-writer", stack.commands()["confluence-writer"])

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        run = httpx.get(f"{stack.api}/api/v1/runs/{run_id}", headers=stack.api_headers).json()
        if run.get("status") != "running":
            break
        time.sleep(0.5)
    assert run["status"] == "succeeded", run
    assert run["done"] == run["commands"]
    _check_matches(stack)
    assert _applied_twice(stack) == []
