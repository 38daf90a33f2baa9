"""`make demo SCENARIO=...`: the safety-net scenarios on the local stack; last line JSON.

* `empty-idp`: a normal first sync, then the IdP simulator is emptied (`POST /_sim/clear`);
  the second sync must be held with no deactivation executed (counted in the Confluence
  simulator's request log), and approving it through the admin API executes them.
* `dry-run`: a dry first sync plans writes (its stored plan) and executes none.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

sys.path.insert(0, os.path.dirname(__file__))
from localstack import Stack, api_headers, down, up

DEACTIVATIONS = frozenset({"disable_user", "rpc:deactivateUser"})
WRITE_EFFECTS = frozenset({"applied", "noop"})


def start(api: str, directory: str, *, dry_run: bool = False) -> str:
    body = {"directory": directory, "trigger": "demo", "dry_run": dry_run}
    url = f"{api}/api/v1/syncs"
    response = httpx.post(url, json=body, headers=api_headers(), timeout=30).raise_for_status()
    return str(response.json()["run_id"])


def wait(api: str, run_id: str, *, until_not: tuple[str, ...], timeout: float = 1800) -> Any:
    """Poll the run until its status leaves `until_not` (and is set)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{api}/api/v1/runs/{run_id}", headers=api_headers(), timeout=30).json()
        if run.get("status") not in (None, *until_not):
            return run
        time.sleep(0.5)
    raise RuntimeError(f"run {run_id} still {until_not} after {timeout:.0f} s")


def get_plan(api: str, run_id: str) -> Any:
    url = f"{api}/api/v1/runs/{run_id}/plan"
    return httpx.get(url, headers=api_headers(), timeout=60).raise_for_status().json()


def confluence_log(stack: Stack) -> list[dict[str, Any]]:
    body = httpx.get(f"{stack.confluence}/_sim/requests", timeout=60).raise_for_status().json()
    entries: list[dict[str, Any]] = body["entries"]
    return entries


def deactivations(entries: list[dict[str, Any]]) -> int:
    return sum(1 for e in entries if e["op"] in DEACTIVATIONS and e["effect"] == "applied")


def writes(entries: list[dict[str, Any]]) -> int:
    return sum(1 for e in entries if e["method"] != "GET" and e["effect"] in WRITE_EFFECTS)


def empty_idp(stack: Stack) -> dict[str, Any]:
    api = stack.api
    first = wait(api, start(api, stack.directory_id), until_not=("running",))
    if stack.idp != "keycloak":
        raise SystemExit("SCENARIO=empty-idp empties the Keycloak simulator: use IDP=keycloak")
    httpx.post(f"{stack.idp_url}/_sim/clear", timeout=30).raise_for_status()
    mark = len(confluence_log(stack))
    run_id = start(api, stack.directory_id)
    second = wait(api, run_id, until_not=("running",))
    before = deactivations(confluence_log(stack)[mark:])
    plan = get_plan(api, run_id)
    approve_started = time.monotonic()
    approve = f"{api}/api/v1/runs/{run_id}/approve"
    httpx.post(approve, json={"by": "demo"}, headers=api_headers(), timeout=30)
    again = httpx.post(approve, json={"by": "demo"}, headers=api_headers(), timeout=30)
    done = wait(api, run_id, until_not=("held", "running"))
    after = deactivations(confluence_log(stack)[mark:])
    return {
        "users": stack.users,
        "first_sync_status": first.get("status"),
        "first_sync_writes": int(first.get("applied", 0)) + int(first.get("failed", 0)),
        "held": second.get("status") == "held",
        "hold_reason": plan.get("hold_reason"),
        "planned_deactivations": plan["summary"]["deactivate_users"],
        "deactivations_executed_before_approval": before,
        "second_approval_status": again.status_code,
        "deactivations_after_approval": after,
        "approved_run_status": done.get("status"),
        "approved_run_seconds": round(time.monotonic() - approve_started, 1),
    }


def dry_run(stack: Stack) -> dict[str, Any]:
    api = stack.api
    mark = len(confluence_log(stack))
    run_id = start(api, stack.directory_id, dry_run=True)
    run = wait(api, run_id, until_not=("running",))
    plan = get_plan(api, run_id)
    executed = writes(confluence_log(stack)[mark:])
    explained = sum(1 for u in plan["users"] if u["reasons"] and u["changes"])
    return {
        "users": stack.users,
        "run_status": run.get("status"),
        "planned_writes": len(plan["commands"]),
        "planned_users_with_changes_and_reasons": explained,
        "executed_writes": executed,
        "run_commands": int(run.get("commands", 0)),
    }


SCENARIOS: dict[str, Callable[[Stack], dict[str, Any]]] = {
    "empty-idp": empty_idp,
    "dry-run": dry_run,
}


def main(args: argparse.Namespace) -> None:
    scenario = SCENARIOS.get(args.scenario)
    if scenario is None:
        names = ", ".join(["normal", *SCENARIOS])
        raise SystemExit(f"SCENARIO={args.scenario}: unknown (available: {names})")
    began = time.monotonic()
    stack = Stack(
        confluence_version=os.environ.get("CONFLUENCE_VERSION", "8.4"),
        users=args.users,
        groups=max(1, args.users // 20),
        memberships=args.users * 5,
        key_prefix=f"demo-{int(time.time())}:",
        idp=args.idp,
    )
    from demo import forget  # the normal demo's clean-up of the stack's Redis keys

    try:
        up(stack)
        result = scenario(stack)
    finally:
        down(stack)
        forget(stack)
    result |= {
        "scenario": args.scenario,
        "idp": args.idp,
        "seconds": round(time.monotonic() - began, 1),
    }
    print(json.dumps(result))
