"""What a SCIM resource means to Roster, and which normalised changes a write makes.

User → `IdpUser` (subject = SCIM `id`, login = `userName`, primary/work/first email, `active`),
Group → `IdpGroup`; a write's changes are the differences of those views (JSON-able dicts in
the change stream, `core.changes` objects for the connector). Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from roster.fetcher.core.changes import (
    Change,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)
from roster.fetcher.scim.schemas import ENTERPRISE, Json
from roster.shared.messages.directory import IdpGroup, IdpUser

ENTERPRISE_KEYS = ("employeeNumber", "costCenter", "organization", "division", "department")


def user_view(resource: Json) -> IdpUser:
    name = resource.get("name") if isinstance(resource.get("name"), dict) else {}
    assert isinstance(name, dict)
    attributes: dict[str, str | list[str]] = {}
    for key in ("externalId", "title", "userType", "locale", "preferredLanguage", "nickName"):
        if isinstance(resource.get(key), str):
            attributes[key] = resource[key]
    ext = resource.get(ENTERPRISE)
    if isinstance(ext, dict):
        for key in ENTERPRISE_KEYS:
            if isinstance(ext.get(key), str):
                attributes[key] = ext[key]
        manager = ext.get("manager")
        if isinstance(manager, dict) and isinstance(manager.get("value"), str):
            attributes["manager"] = manager["value"]
    return IdpUser(
        subject=resource["id"],
        login=resource["userName"],
        email=_email(resource.get("emails")),
        given_name=_str(name.get("givenName")),
        family_name=_str(name.get("familyName")),
        display_name=_str(resource.get("displayName")) or _str(name.get("formatted")),
        active=resource.get("active") is not False,
        attributes=attributes,
    )


def group_view(resource: Json) -> IdpGroup:
    return IdpGroup(id=resource["id"], name=resource["displayName"])


def members(resource: Json | None) -> list[str]:
    if resource is None:
        return []
    out = []
    for m in resource.get("members") or []:
        if isinstance(m, dict) and isinstance(m.get("value"), str):
            out.append(m["value"])
    return out


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _email(emails: Any) -> str | None:
    if not isinstance(emails, list):
        return None
    valid = [e for e in emails if isinstance(e, dict) and isinstance(e.get("value"), str)]
    primary = [e for e in valid if e.get("primary") is True]
    work = [e for e in valid if str(e.get("type", "")).lower() == "work"]
    for e in (*primary, *work, *valid):
        return str(e["value"])
    return None


def user_changes(old: Json | None, new: Json | None) -> list[Json]:
    if new is None:
        return [] if old is None else [{"k": "user-", "subject": old["id"]}]
    view = user_view(new)
    if old is not None and user_view(old) == view:
        return []
    return [{"k": "user", "user": view.model_dump(mode="json")}]


def group_changes(old: Json | None, new: Json | None) -> list[Json]:
    if new is None:
        return [] if old is None else [{"k": "group-", "group": old["id"]}]
    out: list[Json] = []
    view = group_view(new)
    if old is None or group_view(old) != view:
        out.append({"k": "group", "group": view.model_dump(mode="json")})
    before = set(members(old))
    after = members(new)
    gid = new["id"]
    out.extend({"k": "member+", "group": gid, "subject": s} for s in after if s not in before)
    now = set(after)
    out.extend({"k": "member-", "group": gid, "subject": s} for s in members(old) if s not in now)
    return out


def to_change(item: Json) -> Change:
    k = item["k"]
    if k == "user":
        return UserUpserted(IdpUser.model_validate(item["user"]))
    if k == "user-":
        return UserDeleted(item["subject"])
    if k == "group":
        return GroupUpserted(IdpGroup.model_validate(item["group"]))
    if k == "group-":
        return GroupDeleted(item["group"])
    if k == "member+":
        return MemberAdded(item["group"], item["subject"])
    if k == "member-":
        return MemberRemoved(item["group"], item["subject"])
    raise ValueError(f"unknown change kind {k!r}")
