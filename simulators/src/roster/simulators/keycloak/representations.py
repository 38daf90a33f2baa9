"""Keycloak JSON representations of directory records (UserRepresentation, GroupRepresentation).

Keys and their order follow Keycloak 26's Jackson output: null fields are left out, while
`subGroups` is always present (its getter never returns null). Single-valued directory
attributes become Keycloak's lists of strings. No paging or filtering here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from roster.simulators.directory import DirectoryGroup, DirectoryUser

USER_ACCESS = {
    "manageGroupMembership": False,
    "view": True,
    "mapRoles": False,
    "impersonate": False,
    "manage": False,
}
"""What a service account holding only view/query roles may do with a user."""

# One encoder for all renders: json.dumps with options builds a new encoder per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

GROUP_ACCESS = {
    "view": True,
    "viewMembers": True,
    "manageMembers": False,
    "manage": False,
    "manageMembership": False,
}


def user_rep(user: DirectoryUser, *, brief: bool, access: bool) -> dict[str, Any]:
    """Brief: id, username, names, email, flags, created (Keycloak's toBriefRepresentation)."""
    rep: dict[str, Any] = {"id": user.id, "username": user.username}
    # Keycloak stores an empty name or email as null, and Jackson leaves nulls out.
    if user.first_name:
        rep["firstName"] = user.first_name
    if user.last_name:
        rep["lastName"] = user.last_name
    if user.email:
        rep["email"] = user.email
    rep["emailVerified"] = user.email_verified
    if not brief and user.attributes:
        rep["attributes"] = {k: [v] for k, v in user.attributes.items()}
    rep["createdTimestamp"] = user.created_ms
    rep["enabled"] = user.enabled
    if not brief:
        rep["totp"] = False
        rep["disableableCredentialTypes"] = []
        rep["requiredActions"] = []
        rep["notBefore"] = 0
    if access:
        rep["access"] = dict(USER_ACCESS)
    return rep


def users_json(
    users: Iterable[DirectoryUser],
    memo: dict[str, dict[object, bytes]],
    *,
    brief: bool,
    access: bool,
) -> bytes:
    """A JSON array of user representations, reusing each user's cached rendering.

    Rendering dominates the cost of a page; the store drops a user's `memo` entry whenever
    that user changes, so a cached rendering is never stale.
    """
    key = (brief, access)
    parts: list[bytes] = []
    for user in users:
        renders = memo.get(user.id)
        if renders is None:
            renders = memo[user.id] = {}
        rendered = renders.get(key)
        if rendered is None:
            rendered = _encode(user_rep(user, brief=brief, access=access)).encode()
            renders[key] = rendered
        parts.append(rendered)
    return b"[" + b",".join(parts) + b"]"


def group_rep(
    group: DirectoryGroup,
    *,
    path: str,
    full: bool,
    subgroup_count: int | None = None,
    access: bool = True,
    sub_groups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    rep: dict[str, Any] = {"id": group.id, "name": group.name, "path": path}
    if group.parent_id is not None:
        rep["parentId"] = group.parent_id
    if subgroup_count is not None:
        rep["subGroupCount"] = subgroup_count
    rep["subGroups"] = sub_groups if sub_groups is not None else []
    if full:
        rep["attributes"] = {k: [v] for k, v in group.attributes.items()}
        rep["realmRoles"] = []
        rep["clientRoles"] = {}
    if access:
        rep["access"] = dict(GROUP_ACCESS)
    return rep
