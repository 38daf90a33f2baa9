"""Microsoft Graph representations → `IdpUser` / `IdpGroup` (idp-apis.md §1.7, §6), and
delta pages → changes, with the two-deltaLink cursor (§1.4).

Pure functions over decoded JSON; a payload of the wrong shape raises `PermanentError`
naming what was wrong. Delta objects may repeat (a large group's `members@delta` is split
across pages, replays happen): folding keeps the last word per object and per membership.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from roster.fetcher.core.changes import (
    Change,
    CursorExpired,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)
from roster.shared.errors import PermanentError
from roster.shared.messages.directory import IdpGroup, IdpUser

JsonObject = dict[str, Any]
USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"
USER_SELECT = (
    "id,userPrincipalName,mail,givenName,surname,displayName,accountEnabled,"
    "department,jobTitle,employeeId,userType"
)
"""`accountEnabled` and `department` only come when selected (idp-apis.md §1.2)."""
GROUP_SELECT = "id,displayName,description"
GROUP_DELTA_SELECT = "displayName,description,members"
"""`members` in a groups delta `$select` makes Graph send `members@delta`."""
_ATTRIBUTES = {
    "department": "department",
    "jobTitle": "title",
    "employeeId": "employeeNumber",
    "userType": "userType",
}
"""Graph property → `IdpUser.attributes` key (names the attribute mapping uses)."""


def values(body: Any, *, what: str) -> list[JsonObject]:
    """The `value` array of a Graph collection page."""
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PermanentError(f"Microsoft Graph answered {what} without a 'value' array")
    return items


def _text(rep: JsonObject, key: str, *, what: str) -> str:
    value = rep.get(key)
    if not isinstance(value, str) or not value:
        raise PermanentError(f"Microsoft Graph {what} without '{key}': {sorted(rep)}")
    return value


def _optional(rep: JsonObject, key: str) -> str | None:
    value = rep.get(key)
    return value.strip() or None if isinstance(value, str) else None


def user_from_graph(rep: JsonObject) -> IdpUser:
    """The login is the UPN as Entra has it (guest `…#EXT#@…` UPNs included; the rules map
    them); `mail` may be null; `accountEnabled` must have been selected."""
    enabled = rep.get("accountEnabled")
    if not isinstance(enabled, bool):
        raise PermanentError(
            f"Microsoft Graph user without 'accountEnabled' (it must be in $select): {sorted(rep)}"
        )
    attributes: dict[str, str | list[str]] = {}
    for source, target in _ATTRIBUTES.items():
        value = _optional(rep, source)
        if value is not None:
            attributes[target] = value
    return IdpUser(
        subject=_text(rep, "id", what="user"),
        login=_text(rep, "userPrincipalName", what="user"),
        email=_optional(rep, "mail"),
        given_name=_optional(rep, "givenName"),
        family_name=_optional(rep, "surname"),
        display_name=_optional(rep, "displayName"),
        active=enabled,
        attributes=attributes,
    )


def group_from_graph(rep: JsonObject) -> IdpGroup:
    """Entra groups are flat (nesting is membership, with many parents): no parent, path
    `/name` like a top-level group elsewhere."""
    name = _text(rep, "displayName", what="group")
    return IdpGroup(id=_text(rep, "id", what="group"), name=name, path=f"/{name}")


def is_user(rep: JsonObject) -> bool:
    return bool(rep.get("@odata.type", USER_TYPE) == USER_TYPE)


def is_group(rep: JsonObject) -> bool:
    return rep.get("@odata.type") == GROUP_TYPE


# ------------------------------------------------------------------------ delta (incremental)


@dataclass(frozen=True, slots=True)
class DeltaCursor:
    """Both deltaLinks (full URLs as Graph gave them) in one cursor string."""

    users: str
    groups: str

    def encode(self) -> str:
        return json.dumps({"v": 1, "users": self.users, "groups": self.groups})

    @classmethod
    def decode(cls, raw: str) -> DeltaCursor:
        """A stored cursor; an unreadable one counts as expired (a full sync follows)."""
        try:
            data = json.loads(raw)
            users, groups = data["users"], data["groups"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CursorExpired(f"unreadable Entra delta cursor: {raw[:80]!r}") from exc
        if not isinstance(users, str) or not isinstance(groups, str):
            raise CursorExpired(f"unreadable Entra delta cursor: {raw[:80]!r}")
        return cls(users, groups)


def removed_reason(rep: JsonObject) -> str | None:
    """`changed` (soft-deleted, restorable) or `deleted` (gone), or None when present."""
    removed = rep.get("@removed")
    if removed is None:
        return None
    reason = removed.get("reason") if isinstance(removed, dict) else None
    return reason if isinstance(reason, str) else "deleted"


@dataclass
class UserDelta:
    """Users delta objects folded: the last state seen per user id."""

    present: dict[str, JsonObject] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)


def fold_users(objects: list[JsonObject]) -> UserDelta:
    folded = UserDelta()
    for rep in objects:
        user_id = _text(rep, "id", what="delta user")
        if removed_reason(rep) is not None:
            folded.present.pop(user_id, None)
            folded.removed[user_id] = removed_reason(rep) or "deleted"
        else:
            folded.removed.pop(user_id, None)
            folded.present[user_id] = {**folded.present.get(user_id, {}), **rep}
    return folded


def complete_user(rep: JsonObject) -> bool:
    """Whether a delta object carries enough to build the user (else it is re-read)."""
    return isinstance(rep.get("userPrincipalName"), str) and "accountEnabled" in rep


@dataclass
class GroupDelta:
    """Groups delta objects folded: properties merged across repeats, the last membership
    operation per (group, user), removed groups."""

    properties: dict[str, JsonObject] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    members: dict[tuple[str, str], bool] = field(default_factory=dict)
    """(group id, user id) → True added, False removed. Nested-group members are left out."""
    nested_changed: bool = False
    """A group was added to or removed from a group."""


def fold_groups(objects: list[JsonObject]) -> GroupDelta:
    folded = GroupDelta()
    for rep in objects:
        group_id = _text(rep, "id", what="delta group")
        if removed_reason(rep) is not None:
            folded.removed.add(group_id)
            folded.properties.pop(group_id, None)
            continue
        folded.removed.discard(group_id)
        props = {k: v for k, v in rep.items() if k != "members@delta" and not k.startswith("@")}
        folded.properties[group_id] = {**folded.properties.get(group_id, {}), **props}
        refs = rep.get("members@delta") or []
        if not isinstance(refs, list):
            raise PermanentError(f"Microsoft Graph group {group_id}: members@delta not a list")
        for ref in refs:
            if not isinstance(ref, dict):
                continue
            if is_group(ref):
                folded.nested_changed = True
                continue
            member_id = _text(ref, "id", what="members@delta entry")
            pair = (group_id, member_id)
            folded.members.pop(pair, None)  # re-insert: order follows the last operation
            folded.members[pair] = removed_reason(ref) is None
    return folded


def group_changes(folded: GroupDelta, gone_users: set[str]) -> tuple[list[Change], list[Change]]:
    """(upserts and memberships, deletions): a group object with a `displayName` is a
    create or rename; one with only `id` and `members@delta` changed members only."""
    upserts: list[Change] = []
    for group_id, props in folded.properties.items():
        if isinstance(props.get("displayName"), str) and props["displayName"]:
            upserts.append(GroupUpserted(group_from_graph({**props, "id": group_id})))
    for (group_id, member_id), added in folded.members.items():
        if group_id in folded.removed or member_id in gone_users:
            continue
        upserts.append((MemberAdded if added else MemberRemoved)(group_id, member_id))
    deletions: list[Change] = [GroupDeleted(g) for g in sorted(folded.removed)]
    return upserts, deletions


def assemble(
    *,
    groups: GroupDelta,
    users: list[IdpUser],
    gone_users: set[str],
) -> list[Change]:
    """Order a delta for the reconciler: groups, users, memberships, then deletions."""
    group_side, group_deletions = group_changes(groups, gone_users)
    upserted_groups = [c for c in group_side if isinstance(c, GroupUpserted)]
    memberships = [c for c in group_side if not isinstance(c, GroupUpserted)]
    changes: list[Change] = [*upserted_groups]
    changes += [UserUpserted(u) for u in users]
    changes += memberships
    changes += group_deletions
    changes += [UserDeleted(s) for s in sorted(gone_users)]
    return changes
