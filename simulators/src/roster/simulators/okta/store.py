"""The simulated org's data: users with Okta statuses, groups, memberships and the System Log.

Every change an administrator makes (the `/_sim/` routes) goes through `Store` and appends
the LogEvents Okta would write (idp-apis.md §2.3); regenerating the directory resets the org
without events. No HTTP here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from roster.simulators.directory import generate_directory
from roster.simulators.okta.wire import ACTIVE_STATUSES, iso, okta_id

ADMIN_ACTOR = {
    "id": "00u0000000000000admin",
    "type": "User",
    "alternateId": "admin@example.com",
    "displayName": "Sim Admin",
    "detailEntry": None,
}
_CREATED_GROUPS = 1_546_300_800.0
EVERYONE = "00g00000000everyone"


@dataclass(slots=True)
class User:
    id: str
    login: str
    email: str
    first_name: str
    last_name: str
    status: str
    created: float
    last_updated: float
    status_changed: float
    display_name: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    """Other profile attributes (department, title, employeeNumber, …)."""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(slots=True)
class Group:
    id: str
    name: str
    type: str
    created: float
    last_updated: float
    last_membership_updated: float
    description: str | None = None
    source_id: str | None = None
    members: set[str] = field(default_factory=set)


def _status(index: int, enabled: bool) -> str:
    """A spread of every Okta status, deterministic by generation index."""
    if not enabled:
        return "SUSPENDED" if index % 2 else "DEPROVISIONED"
    return {
        7: "PROVISIONED",
        13: "PASSWORD_EXPIRED",
        21: "LOCKED_OUT",
        29: "RECOVERY",
        37: "STAGED",
    }.get(index % 50, "ACTIVE")


class Store:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.log: list[dict[str, Any]] = []
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self.version = 0
        """Bumped by every change, so listings can cache their sorted order."""

    # ------------------------------------------------------------------ generation

    def generate(self, *, users: int, groups: int, memberships: int, seed: int) -> None:
        directory = generate_directory(users, groups, memberships, seed)
        self.version += 1
        self.users.clear()
        self.groups.clear()
        self.log.clear()
        ids: dict[str, str] = {}
        for index, source in enumerate(directory.users.values()):
            user_id = okta_id("00u", source.id)
            ids[source.id] = user_id
            created = source.created_ms / 1000
            login = source.email
            self.users[user_id] = User(
                id=user_id,
                login=login,
                email=source.email,
                first_name=source.first_name,
                last_name=source.last_name,
                status=_status(index, source.enabled),
                created=created,
                last_updated=created,
                status_changed=created,
                display_name=f"{source.first_name} {source.last_name}" if index % 4 == 0 else None,
                profile=dict(source.attributes),
            )
        everyone = Group(
            id=EVERYONE,
            name="Everyone",
            type="BUILT_IN",
            description="All users in your organization",
            created=_CREATED_GROUPS,
            last_updated=_CREATED_GROUPS,
            last_membership_updated=_CREATED_GROUPS,
            members=set(self.users),
        )
        self.groups[everyone.id] = everyone
        for index, source_group in enumerate(directory.groups.values()):
            group_id = okta_id("00g", source_group.id)
            app_group = index % 7 == 6
            self.groups[group_id] = Group(
                id=group_id,
                name=source_group.name,
                type="APP_GROUP" if app_group else "OKTA_GROUP",
                source_id=okta_id("0oa", source_group.id) if app_group else None,
                description=source_group.attributes.get("costCenter"),
                created=_CREATED_GROUPS,
                last_updated=_CREATED_GROUPS,
                last_membership_updated=_CREATED_GROUPS,
                members={ids[m] for m in source_group.members},
            )

    # ------------------------------------------------------------------ System Log

    def _events(self, *events: tuple[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        self.version += 1
        now = self.clock()
        transaction = uuid.uuid4().hex[:24]
        written = []
        for event_type, targets in events:
            event = {
                "uuid": str(uuid.uuid4()),
                "published": iso(now),
                "eventType": event_type,
                "version": "0",
                "severity": "INFO",
                "displayMessage": event_type,
                "actor": dict(ADMIN_ACTOR),
                "client": {"ipAddress": "127.0.0.1", "userAgent": None, "zone": "null"},
                "outcome": {"result": "SUCCESS", "reason": None},
                "target": targets,
                "transaction": {"type": "WEB", "id": transaction, "detail": {}},
                "legacyEventType": None,
            }
            self.log.append(event)
            written.append(event)
        for listener in self.listeners:
            listener(written)
        return written

    @staticmethod
    def user_target(user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "type": "User",
            "alternateId": user.login,
            "displayName": f"{user.first_name} {user.last_name}".strip(),
            "detailEntry": None,
        }

    @staticmethod
    def group_target(group: Group) -> dict[str, Any]:
        return {
            "id": group.id,
            "type": "UserGroup",
            "alternateId": "unknown",
            "displayName": group.name,
            "detailEntry": None,
        }

    # ------------------------------------------------------------------ admin changes

    def add_user(self, user: User, groups: list[Group]) -> None:
        if any(u.login == user.login for u in self.users.values()):
            raise ValueError(f"login {user.login} already exists")
        self.users[user.id] = user
        events: list[tuple[str, list[dict[str, Any]]]] = [
            ("user.lifecycle.create", [self.user_target(user)])
        ]
        if user.status != "STAGED":
            events.append(("user.lifecycle.activate", [self.user_target(user)]))
        everyone = self.groups.get(EVERYONE)
        if everyone is not None:
            everyone.members.add(user.id)
        for group in groups:
            group.members.add(user.id)
            group.last_membership_updated = self.clock()
            events.append(
                ("group.user_membership.add", [self.user_target(user), self.group_target(group)])
            )
        self._events(*events)

    def update_user(self, user: User, profile: dict[str, Any], status: str | None) -> bool:
        now = self.clock()
        events: list[tuple[str, list[dict[str, Any]]]] = []
        changed = {k: v for k, v in profile.items() if _profile_value(user, k) != v}
        if changed:
            for key, value in changed.items():
                _set_profile(user, key, value)
            events.append(("user.account.update_profile", [self.user_target(user)]))
        if status is not None and status != user.status:
            events.append((_status_event(user.status, status), [self.user_target(user)]))
            if status == "DEPROVISIONED":  # deactivation ends every group membership
                for group in self.groups.values():
                    if user.id in group.members and group.type != "BUILT_IN":
                        group.members.discard(user.id)
                        group.last_membership_updated = now
                        events.append(
                            (
                                "group.user_membership.remove",
                                [self.user_target(user), self.group_target(group)],
                            )
                        )
            user.status = status
            user.status_changed = now
        if not events:
            return False
        user.last_updated = now
        self._events(*events)
        return True

    def delete_user(self, user: User) -> None:
        """Okta deletes only DEPROVISIONED users; a second DELETE on an active one deactivates
        first. The simulator does both at once, as two admin actions would."""
        if user.status != "DEPROVISIONED":
            self.update_user(user, {}, "DEPROVISIONED")
        for group in self.groups.values():
            group.members.discard(user.id)
        del self.users[user.id]
        self._events(("user.lifecycle.delete.initiated", [self.user_target(user)]))

    def add_group(self, group: Group) -> None:
        self.groups[group.id] = group
        self._events(("group.lifecycle.create", [self.group_target(group)]))

    def update_group(self, group: Group, name: str | None, description: str | None) -> bool:
        if (name is None or name == group.name) and (
            description is None or description == group.description
        ):
            return False
        group.name = name if name is not None else group.name
        group.description = description if description is not None else group.description
        group.last_updated = self.clock()
        self._events(("group.profile.update", [self.group_target(group)]))
        return True

    def delete_group(self, group: Group) -> None:
        del self.groups[group.id]
        self._events(("group.lifecycle.delete", [self.group_target(group)]))

    def set_member(self, group: Group, user: User, member: bool) -> bool:
        if (user.id in group.members) == member:
            return False
        if member:
            group.members.add(user.id)
        else:
            group.members.discard(user.id)
        group.last_membership_updated = self.clock()
        kind = "add" if member else "remove"
        self._events(
            (f"group.user_membership.{kind}", [self.user_target(user), self.group_target(group)])
        )
        return True

    def directory(self) -> dict[str, Any]:
        """The plain form `/_sim/directory` returns (what a demo compares Confluence with)."""
        return {
            "users": [
                {
                    "id": u.id,
                    "login": u.login,
                    "email": u.email,
                    "firstName": u.first_name,
                    "lastName": u.last_name,
                    "displayName": u.display_name,
                    "status": u.status,
                    "active": u.active,
                }
                for u in self.users.values()
            ],
            "groups": [{"id": g.id, "name": g.name, "type": g.type} for g in self.groups.values()],
            "memberships": {g.id: sorted(g.members) for g in self.groups.values()},
        }


_PROFILE_FIELDS = {
    "login": "login",
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "displayName": "display_name",
}


def _profile_value(user: User, key: str) -> Any:
    attr = _PROFILE_FIELDS.get(key)
    return getattr(user, attr) if attr else user.profile.get(key)


def _set_profile(user: User, key: str, value: Any) -> None:
    attr = _PROFILE_FIELDS.get(key)
    if attr:
        setattr(user, attr, value)
    else:
        user.profile[key] = value


def _status_event(old: str, new: str) -> str:
    if new == "SUSPENDED":
        return "user.lifecycle.suspend"
    if old == "SUSPENDED" and new == "ACTIVE":
        return "user.lifecycle.unsuspend"
    if new == "DEPROVISIONED":
        return "user.lifecycle.deactivate"
    if old == "DEPROVISIONED":
        return "user.lifecycle.reactivate"
    if new == "ACTIVE":
        return "user.lifecycle.activate"
    return "user.account.update_status"
