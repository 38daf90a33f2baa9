"""The safety net across real processes, Kafka and Redis: after a good sync the Keycloak
simulator is emptied; the next sync is held with nothing written to Confluence; approving
it deactivates the users (once, even when approved twice), rejecting it writes nothing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from demo_scenarios import confluence_log, deactivations, start, wait, writes  # noqa: E402
from e2e_support import running_stack  # noqa: E402
from localstack import Stack  # noqa: E402


@pytest.fixture
def stack(tmp_path: Path, stack_env: dict[str, str]) -> Iterator[Stack]:
    with running_stack(tmp_path, users=60, groups=4, memberships=150) as s:
        yield s


def _held_after_emptying(stack: Stack) -> tuple[str, int]:
    """A good first sync, the IdP emptied, a second sync: its run id and the log mark."""
    first = wait(stack.api, start(stack.api, "kc"), until_not=("running",), timeout=300)
    assert first["status"] == "succeeded"
    assert first["summary"]["create_users"] > 30
    httpx.post(f"{stack.keycloak}/_sim/clear", timeout=30).raise_for_status()
    mark = len(confluence_log(stack))
    run_id = start(stack.api, "kc")
    run = wait(stack.api, run_id, until_not=("running",), timeout=300)
    assert run["status"] == "held", run
    assert "empty" in run["reason"]
    assert run["summary"]["deactivate_users"] == first["summary"]["create_users"]
    assert deactivations(confluence_log(stack)[mark:]) == 0
    assert writes(confluence_log(stack)[mark:]) == 0
    return run_id, mark


def _active(stack: Stack) -> dict[str, bool]:
    state = httpx.get(f"{stack.confluence}/_sim/state", timeout=30).json()
    return {u["username"]: u["active"] for u in state["users"]}


def test_empty_idp_is_held_then_approved_once(stack: Stack) -> None:
    run_id, mark = _held_after_emptying(stack)
    plan = httpx.get(
        f"{stack.api}/api/v1/runs/{run_id}/plan", headers=stack.api_headers, timeout=30
    ).json()
    assert plan["status"] == "held"
    planned = plan["summary"]["deactivate_users"]
    assert {u["outcome"] for u in plan["users"]} == {"deactivated"}
    approve, operator = f"{stack.api}/api/v1/runs/{run_id}/approve", stack.api_headers
    assert httpx.post(approve, json={"by": "e2e"}, headers=operator, timeout=30).status_code == 202
    assert httpx.post(approve, json={"by": "e2e"}, headers=operator, timeout=30).status_code == 409
    done = wait(stack.api, run_id, until_not=("held", "running"), timeout=300)
    assert done["status"] == "succeeded", done
    assert done["done"] == done["commands"] == planned
    assert deactivations(confluence_log(stack)[mark:]) == planned
    active = _active(stack)
    assert sum(1 for name, on in active.items() if on and name != "admin") == 0
    after = httpx.get(
        f"{stack.api}/api/v1/runs/{run_id}/plan", headers=stack.api_headers, timeout=30
    ).json()
    # with a bearer token the API records the token's name, not the body's `by`
    assert (after["status"], after["decided_by"]) == ("approved", "demo-operator")


def test_empty_idp_rejected_writes_nothing(stack: Stack) -> None:
    run_id, mark = _held_after_emptying(stack)
    reject = httpx.post(
        f"{stack.api}/api/v1/runs/{run_id}/reject", headers=stack.api_headers, timeout=30
    )
    assert reject.status_code == 202
    done = wait(stack.api, run_id, until_not=("held", "running"), timeout=120)
    assert done["status"] == "rejected"
    assert writes(confluence_log(stack)[mark:]) == 0
    approve = f"{stack.api}/api/v1/runs/{run_id}/approve"
    assert httpx.post(approve, headers=stack.api_headers, timeout=30).status_code == 409
    # the directory is free again: a new sync starts (and is held again: the IdP is empty)
    again = wait(stack.api, start(stack.api, "kc"), until_not=("running",), timeout=300)
    assert again["status"] == "held"
    assert writes(confluence_log(stack)[mark:]) == 0
