"""Okta objects → Roster's IdP model, and the System Log cursor of delta syncs (pure).

Decides: which statuses count as active (idp-apis.md §6: all but STAGED, SUSPENDED and
DEPROVISIONED), which profile fields become the login, names and attributes, which System
Log event types a delta reads and what each one makes the connector re-read, and how the
cursor (`published` of the last event read plus the uuids at that instant) moves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from roster.fetcher.core.changes import CursorExpired
from roster.shared.errors import PermanentError
from roster.shared.messages.directory import IdpGroup, IdpUser

JsonObject = dict[str, Any]

INACTIVE_STATUSES = frozenset({"STAGED", "SUSPENDED", "DEPROVISIONED"})
"""Users in these statuses are not active; PROVISIONED, PASSWORD_EXPIRED, LOCKED_OUT and
RECOVERY users still exist and keep their Confluence account. Every other profile field
holding a string (or list of strings) is passed on as an attribute for mapping rules."""
_NAMED = frozenset({"login", "email", "firstName", "lastName", "displayName"})

USER_EVENTS = (
    "user.lifecycle.create",
    "user.lifecycle.activate",
    "user.lifecycle.deactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.reactivate",
    "user.account.update_profile",
    "user.account.update_status",
)
USER_DELETE_EVENTS = ("user.lifecycle.delete.initiated", "user.lifecycle.delete.completed")
GROUP_EVENTS = ("group.lifecycle.create", "group.profile.update")
GROUP_DELETE_EVENTS = ("group.lifecycle.delete",)
MEMBERSHIP_EVENTS = ("group.user_membership.add", "group.user_membership.remove")
EVENT_TYPES = (
    USER_EVENTS + USER_DELETE_EVENTS + GROUP_EVENTS + GROUP_DELETE_EVENTS + MEMBERSHIP_EVENTS
)
"""Every System Log event type a delta sync reads (and an event hook should subscribe to)."""


def log_filter(types: tuple[str, ...] = EVENT_TYPES) -> str:
    return " or ".join(f'eventType eq "{t}"' for t in types)


def objects(body: Any, *, what: str) -> list[JsonObject]:
    if not isinstance(body, list) or not all(isinstance(o, dict) for o in body):
        raise PermanentError(f"Okta answered {what} with something that is not a list of objects")
    return body


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def user_from_object(obj: JsonObject) -> IdpUser:
    profile = obj.get("profile") if isinstance(obj.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    subject, login = obj.get("id"), _text(profile.get("login"))
    if not isinstance(subject, str) or not subject or login is None:
        raise PermanentError("Okta returned a user without id or profile.login")
    status = str(obj.get("status", ""))
    attributes: dict[str, str | list[str]] = {"status": status} if status else {}
    for key, value in profile.items():
        if key in _NAMED:
            continue
        if isinstance(value, str) and value:
            attributes[key] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            attributes[key] = list(value)
    return IdpUser(
        subject=subject,
        login=login,
        email=_text(profile.get("email")),
        given_name=_text(profile.get("firstName")),
        family_name=_text(profile.get("lastName")),
        display_name=_text(profile.get("displayName")),
        active=status not in INACTIVE_STATUSES,
        attributes=attributes,
    )


def group_from_object(obj: JsonObject) -> IdpGroup:
    profile = obj.get("profile") if isinstance(obj.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    group_id, name = obj.get("id"), _text(profile.get("name"))
    if not isinstance(group_id, str) or not group_id or name is None:
        raise PermanentError("Okta returned a group without id or profile.name")
    return IdpGroup(id=group_id, name=name)


def group_type(obj: JsonObject) -> str:
    return str(obj.get("type", "OKTA_GROUP"))


# ------------------------------------------------------------------ System Log cursor


@dataclass(frozen=True)
class LogCursor:
    """Where a delta resumes: events published at or after `since`, minus `seen` uuids
    (events at exactly `since` already read; Okta's `since` is inclusive)."""

    since: str
    seen: frozenset[str] = frozenset()

    def encode(self) -> str:
        return json.dumps({"since": self.since, "seen": sorted(self.seen)}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> LogCursor:
        try:
            data = json.loads(text)
            since = data["since"]
            seen = data.get("seen", [])
            if not isinstance(since, str) or not isinstance(seen, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise CursorExpired(f"not an Okta System Log cursor: {text[:80]!r}") from None
        return cls(since, frozenset(str(s) for s in seen))


@dataclass(frozen=True)
class LogEvent:
    uuid: str
    published: str
    event_type: str
    targets: tuple[tuple[str, str], ...]
    """(type, id) of each target: `User`, `UserGroup`, …"""
    success: bool = True

    def target(self, kind: str) -> str | None:
        return next((tid for t, tid in self.targets if t == kind), None)


def log_event(obj: JsonObject) -> LogEvent:
    targets = obj.get("target") if isinstance(obj.get("target"), list) else []
    assert isinstance(targets, list)
    outcome = obj.get("outcome") if isinstance(obj.get("outcome"), dict) else {}
    assert isinstance(outcome, dict)
    return LogEvent(
        uuid=str(obj.get("uuid", "")),
        published=str(obj.get("published", "")),
        event_type=str(obj.get("eventType", "")),
        targets=tuple(
            (str(t.get("type")), str(t.get("id"))) for t in targets if isinstance(t, dict)
        ),
        success=outcome.get("result", "SUCCESS") in ("SUCCESS", "ALLOW"),
    )


def after_cursor(events: list[LogEvent], cursor: LogCursor) -> list[LogEvent]:
    """The events not read before (the boundary instant's seen uuids dropped), deduplicated."""
    fresh: list[LogEvent] = []
    uuids: set[str] = set()
    for event in events:
        if event.published == cursor.since and event.uuid in cursor.seen:
            continue
        if event.uuid not in uuids:
            uuids.add(event.uuid)
            fresh.append(event)
    return fresh


def next_cursor(events: list[LogEvent], cursor: LogCursor) -> LogCursor:
    if not events:
        return cursor
    last = max(e.published for e in events)  # ISO-8601 UTC with fixed precision sorts as text
    seen = {e.uuid for e in events if e.published == last}
    if last == cursor.since:
        seen |= cursor.seen
    return LogCursor(last, frozenset(seen))


@dataclass
class Touched:
    """What the events name, to be re-read: current state decides, not the event."""

    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    memberships: list[tuple[str, str]] = field(default_factory=list)
    """(subject, group id) pairs whose membership may have changed."""
    deleted_users: list[str] = field(default_factory=list)
    deleted_groups: list[str] = field(default_factory=list)


def touched(events: list[LogEvent]) -> Touched:
    result = Touched()

    def add(items: list[Any], item: Any) -> None:
        if item is not None and item not in items:
            items.append(item)

    for event in events:
        if not event.success:
            continue
        user, group = event.target("User"), event.target("UserGroup")
        if event.event_type in USER_EVENTS:
            add(result.users, user)
        elif event.event_type in USER_DELETE_EVENTS:
            add(result.deleted_users, user)
        elif event.event_type in GROUP_EVENTS:
            add(result.groups, group)
        elif event.event_type in GROUP_DELETE_EVENTS:
            add(result.deleted_groups, group)
        elif event.event_type in MEMBERSHIP_EVENTS and user is not None and group is not None:
            add(result.memberships, (user, group))
    return result
