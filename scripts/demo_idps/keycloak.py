"""The Keycloak admin-API simulator as the demo's IdP (directory kind `keycloak`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import httpx

from demo_idps import Expected, IdpPlugin

if TYPE_CHECKING:
    from localstack import Stack

SECRET = "demo-secret"


def command(stack: Stack) -> list[str]:
    return [
        sys.executable, "-m", "roster.simulators.keycloak", "--port", str(stack.idp_port),
        "--client-secret", SECRET, "--users", str(stack.users), "--groups", str(stack.groups),
        "--memberships", str(stack.memberships),
    ]  # fmt: skip


def directory(stack: Stack) -> dict[str, Any]:
    return {
        "id": stack.directory_id,
        "kind": "keycloak",
        "default_groups": ["confluence-users"],
        "keycloak": {
            "base_url": stack.idp_url,
            "realm": "roster",
            "client_id": "roster-sync",
            "client_secret": {"env": "KEYCLOAK_CLIENT_SECRET"},
        },
    }


def expected(stack: Stack) -> Expected:
    """Enabled users with an e-mail, lower-cased logins and group names, the default group."""
    data = httpx.get(f"{stack.idp_url}/_sim/directory", timeout=60).raise_for_status().json()
    users: dict[str, dict[str, str]] = {}
    by_id: dict[str, str] = {}
    for u in data["users"]:
        if not u.get("enabled", True) or not u.get("email"):
            continue
        names = " ".join(p for p in (u.get("first_name"), u.get("last_name")) if p)
        login = u["username"].lower()
        users[login] = {"display_name": names or u["username"], "email": u["email"].lower()}
        by_id[u["id"]] = login
    groups: dict[str, set[str]] = {}
    for g in data["groups"]:
        members = {by_id[m] for m in data["memberships"].get(g["id"], []) if m in by_id}
        groups.setdefault(g["name"].lower(), set()).update(members)
    groups.setdefault("confluence-users", set()).update(users)
    return {"users": users, "groups": groups, "idp_users": len(data["users"]),
            "idp_groups": len(data["groups"]),
            "idp_memberships": sum(len(m) for m in data["memberships"].values())}  # fmt: skip


PLUGIN = IdpPlugin(
    name="keycloak",
    command=command,
    directory=directory,
    ready_path="/_sim/faults",
    expected=expected,
    secrets={"KEYCLOAK_CLIENT_SECRET": SECRET},
    urls=lambda stack: {"keycloak sim": f"{stack.idp_url}/admin/realms/roster"},
)
