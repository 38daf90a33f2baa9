"""Keycloak Admin REST representations → `IdpUser` / `IdpGroup` (idp-apis.md §5.5, §6),
and admin events → what a delta sync must re-read, with the event cursor (§5.3).

Pure functions over decoded JSON; a payload of the wrong shape raises `PermanentError`
naming what was wrong, since retrying the same request cannot fix it. No HTTP here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from roster.fetcher.core.changes import CursorExpired
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


# ---------------------------------------------------------------- admin events (incremental)

EVENT_RESOURCES = ("USER", "GROUP", "GROUP_MEMBERSHIP")
EVENT_OPERATIONS = ("CREATE", "UPDATE", "DELETE")
_MEMBERSHIP_PATH = re.compile(r"^users/(?P<user>[^/]+)/groups/(?P<group>[^/]+)$")
_USER_PATH = re.compile(r"^users/(?P<user>[^/]+)$")
_GROUP_PATH = re.compile(r"^groups/(?P<group>[^/]+)(?P<children>/children)?$")


@dataclass(frozen=True, slots=True)
class EventCursor:
    """Where a delta resumes: the time of the newest admin event read (epoch ms) and the
    ids of the events read at exactly that time (Keycloak's `dateFrom` is inclusive)."""

    time: int = 0
    ids: frozenset[str] = frozenset()

    def encode(self) -> str:
        return json.dumps({"v": 1, "time": self.time, "ids": sorted(self.ids)})

    @classmethod
    def decode(cls, raw: str) -> EventCursor:
        """A stored cursor; an unreadable one counts as expired (a full sync follows)."""
        try:
            data = json.loads(raw)
            time = data["time"]
            ids = data["ids"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CursorExpired(f"unreadable Keycloak event cursor: {raw[:80]!r}") from exc
        if not isinstance(time, int) or not isinstance(ids, list):
            raise CursorExpired(f"unreadable Keycloak event cursor: {raw[:80]!r}")
        return cls(time, frozenset(str(i) for i in ids))


@dataclass(frozen=True, slots=True)
class AdminEvent:
    id: str
    time: int
    operation: str
    resource: str
    path: str
    representation: str | None


@dataclass
class Touched:
    """What the admin events since a cursor changed; the connector re-reads each of them."""

    users: dict[str, None] = field(default_factory=dict)
    """Created or updated users, in first-seen order."""
    deleted_users: set[str] = field(default_factory=set)
    groups: dict[str, None] = field(default_factory=dict)
    deleted_groups: set[str] = field(default_factory=set)
    memberships: dict[tuple[str, str], bool] = field(default_factory=dict)
    """(user id, group id) → the last operation seen: True added, False removed."""

    @property
    def empty(self) -> bool:
        return (
            not (self.users or self.deleted_users or self.groups or self.deleted_groups)
            and not self.memberships
        )


def admin_event(rep: JsonObject) -> AdminEvent:
    time = rep.get("time")
    if not isinstance(time, int):
        raise PermanentError(f"Keycloak admin event without 'time': {sorted(rep)}")
    representation = rep.get("representation")
    # older servers have no event id: time, path and operation identify it well enough
    event_id = _optional(rep, "id") or (
        f"{time}:{rep.get('operationType')}:{rep.get('resourcePath')}"
    )
    return AdminEvent(
        id=event_id,
        time=time,
        operation=_text(rep, "operationType", what="admin event"),
        resource=_text(rep, "resourceType", what="admin event"),
        path=_text(rep, "resourcePath", what="admin event"),
        representation=representation if isinstance(representation, str) else None,
    )


def _represented_id(event: AdminEvent) -> str | None:
    if event.representation is None:
        return None
    try:
        body = json.loads(event.representation)
    except ValueError:
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None


def after_cursor(events: list[AdminEvent], cursor: EventCursor) -> list[AdminEvent]:
    """The events not read before, oldest first; `CursorExpired` when the cursor's anchor
    events are gone (the realm's admin events expired or were cleared since)."""
    if cursor.ids and not any(e.time == cursor.time and e.id in cursor.ids for e in events):
        raise CursorExpired(
            "the Keycloak admin events the cursor points at are gone (expired or cleared)"
        )
    seen: set[str] = set()
    fresh: list[AdminEvent] = []
    for event in sorted(events, key=lambda e: e.time):
        if event.time < cursor.time or event.id in seen:
            continue
        if event.time == cursor.time and event.id in cursor.ids:
            continue
        seen.add(event.id)
        fresh.append(event)
    return fresh


def next_cursor(events: list[AdminEvent], cursor: EventCursor) -> EventCursor:
    if not events:
        return cursor
    newest = max(e.time for e in events)
    ids = {e.id for e in events if e.time == newest}
    if newest == cursor.time:
        ids |= cursor.ids
    return EventCursor(newest, frozenset(ids))


def touched(events: list[AdminEvent]) -> Touched:
    """Fold events (oldest first) into what must be re-read.

    A group created as a child (`groups/{parent}/children`) is named by its representation;
    when that is missing the change cannot be followed and `CursorExpired` asks for a full
    sync (admin events without "Include representation")."""
    result = Touched()
    for event in events:
        if event.operation not in EVENT_OPERATIONS:
            continue
        if event.resource == "USER" and (m := _USER_PATH.match(event.path)):
            user = m.group("user")
            if event.operation == "DELETE":
                result.deleted_users.add(user)
                result.users.pop(user, None)
            else:
                result.users[user] = None
                result.deleted_users.discard(user)
        elif event.resource == "GROUP_MEMBERSHIP" and (m := _MEMBERSHIP_PATH.match(event.path)):
            pair = (m.group("user"), m.group("group"))
            result.memberships[pair] = event.operation != "DELETE"
        elif event.resource == "GROUP" and (m := _GROUP_PATH.match(event.path)):
            group: str | None = m.group("group")
            if m.group("children"):
                group = _represented_id(event)
                if group is None:
                    raise CursorExpired(
                        f"Keycloak admin event {event.path} carries no representation: "
                        "turn on 'Include representation' for admin events"
                    )
            assert group is not None
            if event.operation == "DELETE":
                result.deleted_groups.add(group)
                result.groups.pop(group, None)
            else:
                result.groups[group] = None
                result.deleted_groups.discard(group)
    return result
