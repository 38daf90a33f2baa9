"""The Microsoft Graph simulator as the demo's IdP (directory kind `entra`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import httpx

from demo_idps import Expected, IdpPlugin

if TYPE_CHECKING:
    from localstack import Stack

SECRET = "demo-entra-secret"
TENANT = "8f1d6a8e-3c1b-4a51-9d35-6a3f2c1e0b77"
CLIENT = "5b0c2a7e-roster-sync"


def command(stack: Stack) -> list[str]:
    return [
        sys.executable, "-m", "roster.simulators.entra", "--port", str(stack.idp_port),
        "--client-secret", SECRET, "--tenant-id", TENANT, "--client-id", CLIENT,
        "--users", str(stack.users), "--groups", str(stack.groups),
        "--memberships", str(stack.memberships),
    ]  # fmt: skip


def directory(stack: Stack) -> dict[str, Any]:
    return {
        "id": stack.directory_id,
        "kind": "entra",
        "default_groups": ["confluence-users"],
        "entra": {
            "tenant_id": TENANT,
            "client_id": CLIENT,
            "client_secret": {"env": "ENTRA_CLIENT_SECRET"},
            "graph_url": stack.idp_url,
            "login_url": stack.idp_url,
        },
    }


def expected(stack: Stack) -> Expected:
    """Enabled users with a mail; username = the UPN lower-cased (guest `#EXT#` UPNs too),
    display name as Entra has it; direct user members; group names lower-cased."""
    data = httpx.get(f"{stack.idp_url}/_sim/directory", timeout=60).raise_for_status().json()
    users: dict[str, dict[str, str]] = {}
    by_id: dict[str, str] = {}
    for u in data["users"]:
        if not u.get("accountEnabled", False) or not u.get("mail"):
            continue
        login = u["userPrincipalName"].strip().lower()
        display = (u.get("displayName") or "").strip() or u["userPrincipalName"]
        users[login] = {"display_name": display, "email": u["mail"].strip().lower()}
        by_id[u["id"]] = login
    groups: dict[str, set[str]] = {}
    for g in data["groups"]:
        members = {by_id[m] for m in data["memberships"].get(g["id"], []) if m in by_id}
        groups.setdefault(g["displayName"].strip().lower(), set()).update(members)
    groups.setdefault("confluence-users", set()).update(users)
    return {"users": users, "groups": groups, "idp_users": len(data["users"]),
            "idp_groups": len(data["groups"]),
            "idp_memberships": sum(len(m) for m in data["memberships"].values())}  # fmt: skip


PLUGIN = IdpPlugin(
    name="entra",
    command=command,
    directory=directory,
    ready_path="/_sim/faults",
    expected=expected,
    secrets={"ENTRA_CLIENT_SECRET": SECRET},
    urls=lambda stack: {"graph sim": f"{stack.idp_url}/v1.0/users"},
)
