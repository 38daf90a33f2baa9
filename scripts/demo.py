"""`make demo`: sync a simulated directory into Confluence on the local stack, check it, sync again.

Starts the simulators and services (Kafka and Redis are already up), generates the IdP
directory, runs a full sync through the admin API, compares Confluence — read through its
own REST and JSON-RPC APIs — with the IdP, runs a second sync that must write nothing, stops
the services and prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import httpx
import redis

sys.path.insert(0, os.path.dirname(__file__))
from localstack import Stack, api_headers, down, up


def sync(api: str, directory: str, timeout: float = 1800) -> dict[str, Any]:
    body = {"directory": directory, "trigger": "demo"}
    started = httpx.post(f"{api}/api/v1/syncs", json=body, headers=api_headers(), timeout=30)
    started.raise_for_status()
    run_id = started.json()["run_id"]
    deadline = time.monotonic() + timeout
    last_done = -1
    while time.monotonic() < deadline:
        url = f"{api}/api/v1/runs/{run_id}"
        run: dict[str, Any] = httpx.get(url, headers=api_headers(), timeout=30).json()
        if run.get("status") not in (None, "running"):
            return run
        if run.get("done") != last_done and run.get("commands"):
            last_done = run["done"]
            print(f"  {run_id}: {last_done}/{run['commands']} commands", file=sys.stderr)
        time.sleep(0.5)
    raise RuntimeError(f"run {run_id} did not finish in {timeout:.0f} s")


def pages(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    start = 0
    while True:
        body = client.get(path, params={"start": start, "limit": 200}).raise_for_status().json()
        items.extend(body["results"])
        if "next" not in body.get("_links", {}) or not body["results"]:
            return items
        start += body["size"]


def compare(confluence: httpx.Client, want: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for username, attrs in want["users"].items():
        response = confluence.get(
            "/rest/api/user", params={"username": username, "expand": "status"}
        )
        if response.status_code != 200:
            problems.append(f"user {username}: {response.status_code}")
            continue
        person = response.json()
        if person.get("displayName") != attrs["display_name"]:
            problems.append(f"user {username}: display name {person.get('displayName')!r}")
        if person.get("status", "current") != "current":
            problems.append(f"user {username}: status {person.get('status')}")
        rpc = confluence.post("/rpc/json-rpc/confluenceservice-v2/getUserByName", json=[username])
        email = (rpc.json() or {}).get("email", "") if rpc.status_code == 200 else None
        if email is not None and email.lower() != attrs["email"]:
            problems.append(f"user {username}: email {email!r}")
    existing = {g["name"].lower() for g in pages(confluence, "/rest/api/group")}
    for group, members in want["groups"].items():
        if group not in existing:
            problems.append(f"group {group}: missing")
            continue
        have = {p["username"] for p in pages(confluence, f"/rest/api/group/{group}/member")}
        if not members <= have:
            problems.append(f"group {group}: {len(members - have)} members missing")
        extra = (have - members) & set(want["users"])
        if extra and group not in ("confluence-users",):
            problems.append(f"group {group}: {len(extra)} unexpected members")
    return problems


def confluence_client(stack: Stack) -> httpx.Client:
    token = os.environ.get("CONFLUENCE_TOKEN")
    if token:
        return httpx.Client(base_url=stack.confluence, headers={"Authorization": f"Bearer {token}"})
    user = os.environ.get("CONFLUENCE_USER", "admin")
    password = os.environ.get("CONFLUENCE_PASSWORD", "admin")
    return httpx.Client(base_url=stack.confluence, auth=(user, password), timeout=30)


def forget(stack: Stack) -> None:
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0"))
    for key in client.scan_iter(f"{stack.key_prefix}*", count=1000):
        client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=int(os.environ.get("USERS", "1000")))
    parser.add_argument("--idp", default=os.environ.get("IDP", "keycloak"))
    parser.add_argument("--scenario", default=os.environ.get("SCENARIO", "normal"))
    args = parser.parse_args()
    if args.scenario != "normal":
        import demo_scenarios  # safety-net scenarios: empty-idp, dry-run

        demo_scenarios.main(args)
        return
    began = time.monotonic()
    stack = Stack(
        confluence_version=os.environ.get("CONFLUENCE_VERSION", "8.4"),
        users=args.users,
        groups=max(1, args.users // 20),
        memberships=args.users * 5,
        confluence_url=os.environ.get("CONFLUENCE_URL") or None,
        key_prefix=f"demo-{int(time.time())}:",
        idp=args.idp,
    )
    try:
        up(stack)
        want = stack.plugin.expected(stack)
        first_began = time.monotonic()
        first = sync(stack.api, stack.directory_id)
        first_seconds = time.monotonic() - first_began
        with confluence_client(stack) as confluence:
            problems = compare(confluence, want)
        second = sync(stack.api, stack.directory_id)
    finally:
        down(stack)
        forget(stack)
    for problem in problems[:20]:
        print(f"  mismatch: {problem}", file=sys.stderr)
    writes = int(first.get("applied", 0)) + int(first.get("failed", 0))
    print(
        json.dumps(
            {
                "users": want["idp_users"],
                "groups": want["idp_groups"],
                "memberships": want["idp_memberships"],
                "first_sync_writes": writes,
                "first_sync_status": first.get("status"),
                "first_sync_seconds": round(first_seconds, 1),
                "first_sync_writes_per_second": round(writes / first_seconds, 1),
                "second_sync_writes": int(second.get("commands", 0)),
                "confluence_matches_idp": not problems and first.get("status") == "succeeded",
                "confluence_version": stack.confluence_version,
                "idp": args.idp,
                "seconds": round(time.monotonic() - began, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
