"""The Google Workspace Admin SDK simulator as the demo's IdP (directory kind `google`).

The simulator makes its service account's key pair at start and writes the JSON key file
into the stack's state folder; the directory's `credentials` point at that file, as a
Kubernetes secret mount would. Logins are primary e-mails (the connector's default).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import httpx

from demo_idps import Expected, IdpPlugin

if TYPE_CHECKING:
    from localstack import Stack

ADMIN = "admin@example.com"


def key_file(stack: Stack) -> str:
    return str(stack.state / "google-service-account.json")


def command(stack: Stack) -> list[str]:
    return [
        sys.executable, "-m", "roster.simulators.google", "--port", str(stack.idp_port),
        "--users", str(stack.users), "--groups", str(stack.groups),
        "--memberships", str(stack.memberships), "--admin", ADMIN,
        "--key-file", key_file(stack),
    ]  # fmt: skip


def directory(stack: Stack) -> dict[str, Any]:
    return {
        "id": stack.directory_id,
        "kind": "google",
        "default_groups": ["confluence-users"],
        "google": {
            "credentials": {"file": key_file(stack)},
            "subject": ADMIN,
            "base_url": stack.idp_url,
        },
    }


def expected(stack: Stack) -> Expected:
    """Users not suspended or archived, logins and e-mails = primary e-mail (lower case),
    display = full name, group names lower-cased with their direct USER members, the
    default group."""
    data = httpx.get(f"{stack.idp_url}/_sim/directory", timeout=60).raise_for_status().json()
    users: dict[str, dict[str, str]] = {}
    by_id: dict[str, str] = {}
    for u in data["users"]:
        if u["suspended"] or u["archived"] or not u.get("primary_email"):
            continue
        login = u["primary_email"].strip().lower()
        users[login] = {"display_name": (u.get("full_name") or "").strip() or login,
                        "email": login}  # fmt: skip
        by_id[u["id"]] = login
    groups: dict[str, set[str]] = {}
    for g in data["groups"]:
        members = {by_id[m] for m in data["memberships"].get(g["id"], []) if m in by_id}
        groups.setdefault(g["name"].strip().lower(), set()).update(members)
    groups.setdefault("confluence-users", set()).update(users)
    return {"users": users, "groups": groups, "idp_users": len(data["users"]),
            "idp_groups": len(data["groups"]),
            "idp_memberships": sum(len(m) for m in data["memberships"].values())}  # fmt: skip


PLUGIN = IdpPlugin(
    name="google",
    command=command,
    directory=directory,
    ready_path="/_sim/settings",
    expected=expected,
    urls=lambda stack: {"google sim": f"{stack.idp_url}/admin/directory/v1/users"},
)
