"""Keycloak Admin REST representations → `IdpUser` / `IdpGroup` (idp-apis.md §5.5, §6).

Pure functions over decoded JSON; a payload of the wrong shape raises `PermanentError`
naming what was wrong, since retrying the same request cannot fix it. No HTTP here.
"""

from __future__ import annotations

from typing import Any

from roster.shared.errors import PermanentError
from roster.shared.messages.directory import IdpGroup, IdpUser

JsonObject = dict[str, Any]


def objects(body: Any, *, what: str) -> list[JsonObject]:
    """A JSON array of objects, as every Keycloak list endpoint answers."""
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise PermanentError(f"Keycloak answered {what} with {type(body).__name__}, not a list")
    return body


def _text(rep: JsonObject, key: str, *, what: str) -> str:
    value = rep.get(key)
    if not isinstance(value, str) or not value:
        raise PermanentError(f"Keycloak {what} without '{key}': {sorted(rep)}")
    return value


def _optional(rep: JsonObject, key: str) -> str | None:
    value = rep.get(key)
    return value if isinstance(value, str) and value else None


def flatten_attributes(raw: Any) -> dict[str, str | list[str]]:
    """Keycloak keeps every attribute as a list; one value becomes a string, none is dropped."""
    if not isinstance(raw, dict):
        return {}
    flat: dict[str, str | list[str]] = {}
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        texts = [str(v) for v in values if v is not None]
        if len(texts) == 1:
            flat[str(name)] = texts[0]
        elif texts:
            flat[str(name)] = texts
    return flat


def display_name(given: str | None, family: str | None) -> str | None:
    """Keycloak has no display name: "first last" when both, else whichever exists."""
    parts = [p for p in (given, family) if p]
    return " ".join(parts) or None


def is_service_account(rep: JsonObject) -> bool:
    """A client's service-account user; plain listings hide them, a search may not."""
    return bool(rep.get("serviceAccountClientId"))


def user_from_rep(rep: JsonObject) -> IdpUser:
    given, family = _optional(rep, "firstName"), _optional(rep, "lastName")
    enabled = rep.get("enabled", True)
    return IdpUser(
        subject=_text(rep, "id", what="user"),
        login=_text(rep, "username", what="user"),
        email=_optional(rep, "email"),
        given_name=given,
        family_name=family,
        display_name=display_name(given, family),
        active=enabled if isinstance(enabled, bool) else True,
        attributes=flatten_attributes(rep.get("attributes")),
    )


def member_subject(rep: JsonObject) -> str:
    return _text(rep, "id", what="group member")


def group_from_rep(rep: JsonObject, *, parent: IdpGroup | None) -> IdpGroup:
    """`parentId` and `path` come from Keycloak when it sends them, else from the parent."""
    name = _text(rep, "name", what="group")
    path = _optional(rep, "path")
    if path is None:
        path = f"{parent.path or ''}/{name}" if parent is not None else f"/{name}"
    parent_id = _optional(rep, "parentId") or (parent.id if parent is not None else None)
    return IdpGroup(id=_text(rep, "id", what="group"), name=name, path=path, parent_id=parent_id)


def listed_children(rep: JsonObject) -> list[JsonObject] | None:
    """Subgroups the representation itself carries, or None when they must be asked for.

    Keycloak ≤ 22 returns the whole tree in `subGroups` and has no `subGroupCount`; 23+
    sends `subGroupCount` with an empty `subGroups` and serves `/groups/{id}/children`.
    """
    subs = rep.get("subGroups")
    listed = [s for s in subs if isinstance(s, dict)] if isinstance(subs, list) else []
    count = rep.get("subGroupCount")
    if not isinstance(count, int):
        return listed
    if count == 0 or len(listed) >= count:
        return listed
    return None
