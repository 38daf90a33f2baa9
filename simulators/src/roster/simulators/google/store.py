"""The simulated Workspace customer: users, groups, members, and the admin audit log.

Google-shaped data: numeric user ids, short group ids, groups addressed by e-mail, nesting
as a group being a member of a group. Every change made through `/_sim/` is recorded as
the admin activity the Reports API would list (`USER_SETTINGS` / `GROUP_SETTINGS` events)
and announced to `on_user_change` (the watch channels). No HTTP here.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from roster.simulators.directory import Directory, login_part

UserChange = Callable[[str, "GUser"], None]
"""(watch event name: add/update/delete/undelete/makeAdmin, user) after a change."""


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int(epoch * 1000) % 1000:03d}Z"
    )


def user_id_from(key: str) -> str:
    """21 digits, like Google's user ids, derived from any stable key."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:10], "big")
    return "1" + str(digest % 10**20).zfill(20)


def group_id_from(key: str) -> str:
    """15 characters, like Google's group ids (`0` + base-36-ish), from any stable key."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    n = int.from_bytes(hashlib.sha256(key.encode()).digest()[:10], "big")
    chars = []
    for _ in range(14):
        n, r = divmod(n, 36)
        chars.append(alphabet[r])
    return "0" + "".join(chars)


@dataclass(slots=True)
class GUser:
    id: str
    primary_email: str
    given_name: str
    family_name: str
    suspended: bool = False
    archived: bool = False
    is_admin: bool = False
    org_unit_path: str = "/"
    department: str | None = None
    title: str | None = None
    employee_id: str | None = None
    location: str | None = None
    creation_time: float = 0.0
    deletion_time: float | None = None
    version: int = 1

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p)


@dataclass(slots=True)
class GGroup:
    id: str
    email: str
    name: str
    description: str = ""
    admin_created: bool = True
    members: dict[str, str] = field(default_factory=dict)
    """Member id (user or group) → role (OWNER / MANAGER / MEMBER), in insertion order."""
    version: int = 1


@dataclass(slots=True)
class Activity:
    time: float
    unique_qualifier: str
    type: str
    name: str
    parameters: dict[str, str]


class StoreError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Store:
    def __init__(
        self, *, customer_id: str, clock: Callable[[], float], admin_email: str, seed: int
    ) -> None:
        self.customer_id = customer_id
        self.clock = clock
        self.admin_email = admin_email
        self.users: dict[str, GUser] = {}
        self.deleted: dict[str, GUser] = {}
        self.groups: dict[str, GGroup] = {}
        self.activities: list[Activity] = []
        self.on_user_change: UserChange = lambda event, user: None
        self._random = random.Random(seed)
        self._by_email: dict[str, str] = {}
        self._group_by_email: dict[str, str] = {}

    # ---- loading -------------------------------------------------------------------------

    def load(self, directory: Directory, *, domain: str) -> None:
        """Replace everything with a generated directory (no activities, no notifications)."""
        self.users.clear()
        self.deleted.clear()
        self.groups.clear()
        self.activities.clear()
        self._by_email.clear()
        self._group_by_email.clear()
        admin = GUser(
            id=user_id_from("admin:" + self.admin_email),
            primary_email=self.admin_email,
            given_name="Workspace",
            family_name="Admin",
            is_admin=True,
            creation_time=1_546_300_800.0,
        )
        self._index_user(admin)
        uids = {u.id: user_id_from(u.id) for u in directory.users.values()}
        for u in directory.users.values():
            self._index_user(
                GUser(
                    id=uids[u.id],
                    primary_email=u.email.lower(),
                    given_name=u.first_name,
                    family_name=u.last_name,
                    suspended=not u.enabled,
                    org_unit_path="/" + u.attributes.get("department", "Staff"),
                    department=u.attributes.get("department"),
                    title=u.attributes.get("title"),
                    employee_id=u.attributes.get("employeeNumber"),
                    location=u.attributes.get("location"),
                    creation_time=u.created_ms / 1000,
                )
            )
        ids = {g.id: group_id_from(g.id) for g in directory.groups.values()}
        for g in directory.groups.values():
            email = f"{login_part(g.name.replace(' ', '-')) or 'group'}@{domain}"
            group = GGroup(id=ids[g.id], email=email, name=g.name, description=f"{g.name} group")
            group.members = dict.fromkeys((uids[m] for m in sorted(g.members)), "MEMBER")
            self.groups[group.id] = group
            self._group_by_email[email] = group.id
        for g in directory.groups.values():  # a child group is a member of its parent
            if g.parent_id is not None:
                self.groups[ids[g.parent_id]].members[ids[g.id]] = "MEMBER"

    def _index_user(self, user: GUser) -> None:
        self.users[user.id] = user
        self._by_email[user.primary_email] = user.id

    # ---- lookups -------------------------------------------------------------------------

    def user(self, key: str) -> GUser | None:
        """By id or primary e-mail (`userKey`)."""
        uid = key if key in self.users else self._by_email.get(key.lower())
        return self.users.get(uid) if uid else None

    def group(self, key: str) -> GGroup | None:
        """By id or e-mail (`groupKey`)."""
        gid = key if key in self.groups else self._group_by_email.get(key.lower())
        return self.groups.get(gid) if gid else None

    def member_email(self, member_id: str) -> str:
        if member_id in self.users:
            return self.users[member_id].primary_email
        return self.groups[member_id].email

    def derived_users(self, group: GGroup) -> list[str]:
        """User ids reachable through nested groups, each once, direct members first."""
        seen: set[str] = set()
        out: list[str] = []
        stack = [group.id]
        visited: set[str] = set()
        while stack:
            current = self.groups.get(stack.pop())
            if current is None or current.id in visited:
                continue
            visited.add(current.id)
            for mid in current.members:
                if mid in self.users and mid not in seen:
                    seen.add(mid)
                    out.append(mid)
                elif mid in self.groups:
                    stack.append(mid)
        return out

    def groups_of(self, user_id: str) -> list[GGroup]:
        return [g for g in self.groups.values() if user_id in g.members]

    # ---- changes (what an admin does in the console) -------------------------------------

    def record(self, type_: str, name: str, **parameters: str) -> None:
        self.activities.append(
            Activity(
                time=self.clock(),
                unique_qualifier=str(-self._random.getrandbits(63)),
                type=type_,
                name=name,
                parameters=parameters,
            )
        )

    def add_user(self, user: GUser) -> GUser:
        if user.primary_email in self._by_email or user.id in self.users:
            raise StoreError(409, "Entity already exists.")
        user.creation_time = self.clock()
        self._index_user(user)
        self.record("USER_SETTINGS", "CREATE_USER", USER_EMAIL=user.primary_email)
        self.on_user_change("add", user)
        return user

    def update_user(self, user: GUser, changes: dict[str, Any]) -> bool:
        events: list[tuple[str, dict[str, str]]] = []
        for key, value in changes.items():
            old = getattr(user, key)
            if old == value:
                continue
            if key == "primary_email":
                value = str(value).lower()
                if value in self._by_email:
                    raise StoreError(409, "Entity already exists.")
                del self._by_email[user.primary_email]
                self._by_email[value] = user.id
                events.append(("RENAME_USER", {"USER_EMAIL": old, "NEW_VALUE": value}))
            elif key == "given_name":
                events.append(("CHANGE_FIRST_NAME", {"NEW_VALUE": str(value)}))
            elif key == "family_name":
                events.append(("CHANGE_LAST_NAME", {"NEW_VALUE": str(value)}))
            elif key == "suspended":
                events.append(("SUSPEND_USER" if value else "UNSUSPEND_USER", {}))
            elif key == "archived":
                events.append(("ARCHIVE_USER" if value else "UNARCHIVE_USER", {}))
            else:
                events.append(("CHANGE_USER_CUSTOM_FIELD", {"FIELD_NAME": key}))
            setattr(user, key, value)
        if not events:
            return False
        user.version += 1
        for name, params in events:
            params.setdefault("USER_EMAIL", user.primary_email)
            self.record("USER_SETTINGS", name, **params)
        self.on_user_change("update", user)
        return True

    def delete_user(self, user: GUser) -> None:
        del self.users[user.id]
        del self._by_email[user.primary_email]
        for group in self.groups.values():
            group.members.pop(user.id, None)  # Google records no REMOVE_GROUP_MEMBER here
        user.deletion_time = self.clock()
        self.deleted[user.id] = user
        self.record("USER_SETTINGS", "DELETE_USER", USER_EMAIL=user.primary_email)
        self.on_user_change("delete", user)

    def add_group(self, group: GGroup) -> GGroup:
        if group.email in self._group_by_email or group.email in self._by_email:
            raise StoreError(409, "Entity already exists.")
        self.groups[group.id] = group
        self._group_by_email[group.email] = group.id
        self.record("GROUP_SETTINGS", "CREATE_GROUP", GROUP_EMAIL=group.email)
        return group

    def rename_group(self, group: GGroup, name: str) -> bool:
        if group.name == name:
            return False
        old, group.name = group.name, name
        group.version += 1
        self.record(
            "GROUP_SETTINGS", "CHANGE_GROUP_NAME", GROUP_EMAIL=group.email, OLD_VALUE=old,
            NEW_VALUE=name,
        )  # fmt: skip
        return True

    def delete_group(self, group: GGroup) -> None:
        del self.groups[group.id]
        del self._group_by_email[group.email]
        for other in self.groups.values():
            other.members.pop(group.id, None)
        self.record("GROUP_SETTINGS", "DELETE_GROUP", GROUP_EMAIL=group.email)

    def add_member(self, group: GGroup, member_id: str, role: str = "MEMBER") -> bool:
        if member_id in group.members:
            return False
        if member_id == group.id or (
            member_id in self.groups and group.id in self.derived_groups(self.groups[member_id])
        ):
            raise StoreError(400, "Cyclic memberships not allowed")
        group.members[member_id] = role
        group.version += 1
        self.record(
            "GROUP_SETTINGS", "ADD_GROUP_MEMBER", GROUP_EMAIL=group.email,
            USER_EMAIL=self.member_email(member_id),
        )  # fmt: skip
        return True

    def remove_member(self, group: GGroup, member_id: str) -> bool:
        if member_id not in group.members:
            return False
        email = self.member_email(member_id)
        del group.members[member_id]
        group.version += 1
        self.record(
            "GROUP_SETTINGS", "REMOVE_GROUP_MEMBER", GROUP_EMAIL=group.email, USER_EMAIL=email
        )
        return True

    def derived_groups(self, group: GGroup) -> set[str]:
        out: set[str] = set()
        stack = [group.id]
        while stack:
            current = self.groups.get(stack.pop())
            if current is None or current.id in out:
                continue
            out.add(current.id)
            stack.extend(m for m in current.members if m in self.groups)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: what the demo compares Confluence against (ids are Google's)."""
        return {
            "customer_id": self.customer_id,
            "users": [
                {
                    "id": u.id,
                    "primary_email": u.primary_email,
                    "given_name": u.given_name,
                    "family_name": u.family_name,
                    "full_name": u.full_name,
                    "suspended": u.suspended,
                    "archived": u.archived,
                    "is_admin": u.is_admin,
                }
                for u in self.users.values()
            ],
            "groups": [
                {"id": g.id, "email": g.email, "name": g.name} for g in self.groups.values()
            ],
            "memberships": {
                g.id: [m for m in g.members if m in self.users] for g in self.groups.values()
            },
            "nested": {
                g.id: [m for m in g.members if m in self.groups] for g in self.groups.values()
            },
        }
