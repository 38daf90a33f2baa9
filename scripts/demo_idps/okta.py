"""The Okta Management API simulator as the demo's IdP (directory kind `okta`, SSWS token)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import httpx

from demo_idps import Expected, IdpPlugin

if TYPE_CHECKING:
    from localstack import Stack

TOKEN = "demo-okta-api-token"
INACTIVE = {"STAGED", "SUSPENDED", "DEPROVISIONED"}


def command(stack: Stack) -> list[str]:
    return [
        sys.executable, "-m", "roster.simulators.okta", "--port", str(stack.idp_port),
        "--api-token", TOKEN, "--users", str(stack.users), "--groups", str(stack.groups),
        "--memberships", str(stack.memberships),
    ]  # fmt: skip


def directory(stack: Stack) -> dict[str, Any]:
    return {
        "id": stack.directory_id,
        "kind": "okta",
        "default_groups": ["confluence-users"],
        "okta": {"org_url": stack.idp_url, "api_token": {"env": "OKTA_API_TOKEN"}},
    }


def expected(stack: Stack) -> Expected:
    """Active users (not STAGED, SUSPENDED, DEPROVISIONED) with an e-mail, lower-cased logins
    and group names, display name or first + last, no BUILT_IN group, the default group."""
    data = httpx.get(f"{stack.idp_url}/_sim/directory", timeout=60).raise_for_status().json()
    users: dict[str, dict[str, str]] = {}
    by_id: dict[str, str] = {}
    for u in data["users"]:
        if u["status"] in INACTIVE or not (u.get("email") or "").strip():
            continue
        login = u["login"].strip().lower()
        names = " ".join(
            p.strip() for p in (u.get("firstName"), u.get("lastName")) if p and p.strip()
        )
        shown = (u.get("displayName") or "").strip() or names or u["login"]
        users[login] = {"display_name": shown, "email": u["email"].strip().lower()}
        by_id[u["id"]] = login
    groups: dict[str, set[str]] = {}
    synced = [g for g in data["groups"] if g["type"] != "BUILT_IN"]
    for g in synced:
        members = {by_id[m] for m in data["memberships"].get(g["id"], []) if m in by_id}
        groups.setdefault(g["name"].strip().lower(), set()).update(members)
    groups.setdefault("confluence-users", set()).update(users)
    memberships = sum(len(data["memberships"].get(g["id"], [])) for g in synced)
    return {
        "users": users,
        "groups": groups,
        "idp_users": len(data["users"]),
        "idp_groups": len(synced),
        "idp_memberships": memberships,
    }


PLUGIN = IdpPlugin(
    name="okta",
    command=command,
    directory=directory,
    ready_path="/_sim/faults",
    expected=expected,
    secrets={"OKTA_API_TOKEN": TOKEN},
    urls=lambda stack: {"okta sim": f"{stack.idp_url}/api/v1/users"},
)
