"""In-memory Confluence user directory: users, groups, memberships, licence seats, long tasks.

Every lookup is a dict hit and every ordered listing a slice of a name list kept sorted, so a
write costs O(log n) plus a memmove, never a scan over all users. Usernames and group names are
stored lower-case (Confluence keeps `lower_user_name`). No HTTP here: callers map the
`DirectoryError`s it raises.
"""

from __future__ import annotations

import itertools
import uuid
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from roster.simulators.confluence.errors import (
    ConflictError,
    LastAdminGroupError,
    LicenceError,
    NotFoundError,
)

ADMIN_GROUP = "confluence-administrators"
USERS_GROUP = "confluence-users"
ADMIN_GROUPS = frozenset({ADMIN_GROUP})
"""Groups holding the administer permission; deleting the last one is refused (400)."""


class SortedNames:
    """A set of names that also pages in sorted order without sorting per request."""

    __slots__ = ("_index", "_names")

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._index = set(names)
        self._names = sorted(self._index)

    def add(self, name: str) -> bool:
        if name in self._index:
            return False
        self._index.add(name)
        insort(self._names, name)
        return True

    def discard(self, name: str) -> bool:
        if name not in self._index:
            return False
        self._index.remove(name)
        del self._names[bisect_left(self._names, name)]
        return True

    def page(self, start: int, limit: int) -> list[str]:
        return self._names[start : start + limit]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def names(self) -> list[str]:
        return list(self._names)


@dataclass(slots=True)
class User:
    username: str
    key: str
    display_name: str
    email: str
    active: bool = True
    last_login: datetime | None = None
    groups: set[str] = field(default_factory=set)


@dataclass(slots=True)
class LongTask:
    id: str
    name: str
    target: str
    polls: int = 0


class Directory:
    def __init__(
        self, *, admin_user: str, seats: int | None = None, default_group: str | None = None
    ) -> None:
        self.seats = seats
        self.default_group = default_group
        self._admin_user = admin_user.lower()
        self._keys = itertools.count(1)
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to a fresh install: the admin user in the two built-in groups. Keys never repeat."""
        self.users: dict[str, User] = {}
        self._by_key: dict[str, User] = {}
        self._user_names = SortedNames()
        self.groups: dict[str, SortedNames] = {}
        self._group_names = SortedNames()
        self.tasks: dict[str, LongTask] = {}
        self.active_count = 0
        self._login_order: list[User] | None = None
        self.create_user(self._admin_user, "Administrator", f"{self._admin_user}@example.com")
        for group in (ADMIN_GROUP, USERS_GROUP):
            self.create_group(group)
            self.add_member(self._admin_user, group)

    # -- users -----------------------------------------------------------------------------

    def user(self, username: str) -> User | None:
        return self.users.get(username.lower())

    def user_by_key(self, key: str) -> User | None:
        return self._by_key.get(key)

    def require_user(self, username: str) -> User:
        user = self.users.get(username.lower())
        if user is None:
            raise NotFoundError(f"No user found with username: {username}")
        return user

    def create_user(
        self, username: str, display_name: str, email: str, *, via_api: bool = False
    ) -> User:
        """Add a user; `via_api` applies the licence check and joins the default group."""
        name = username.lower()
        if name in self.users:
            raise ConflictError(f"A user with the username '{name}' already exists")
        if via_api and self.seats is not None and self.active_count >= self.seats:
            raise LicenceError(
                f"Unable to create user '{name}': the licence allows {self.seats} users and "
                f"{self.active_count} are active"
            )
        user = User(name, f"8aa1b2c3{next(self._keys):024x}", display_name, email)
        self.users[name] = user
        self._by_key[user.key] = user
        self._user_names.add(name)
        self.active_count += 1
        self._login_order = None
        if via_api and self.default_group and self.default_group in self.groups:
            self.add_member(name, self.default_group)
        return user

    def update_user(self, username: str, *, display_name: str, email: str) -> bool:
        user = self.require_user(username)
        if user.display_name == display_name and user.email == email:
            return False
        user.display_name, user.email = display_name, email
        return True

    def set_active(self, username: str, active: bool) -> bool:
        user = self.require_user(username)
        if user.active == active:
            return False
        user.active = active
        self.active_count += 1 if active else -1
        self._login_order = None
        return True

    def set_last_login(self, username: str, when: datetime | None) -> User:
        user = self.require_user(username)
        user.last_login = when
        self._login_order = None
        return user

    def delete_user(self, username: str) -> User:
        user = self.require_user(username)
        for group in user.groups:
            self.groups[group].discard(user.username)
        del self.users[user.username]
        del self._by_key[user.key]
        self._user_names.discard(user.username)
        if user.active:
            self.active_count -= 1
        self._login_order = None
        return user

    def user_page(self, start: int, limit: int) -> tuple[list[User], int]:
        names = self._user_names.page(start, limit)
        return [self.users[n] for n in names], len(self._user_names)

    def active_by_last_login(self) -> list[User]:
        """Licensed active users, stalest first; never-logged-in users sort before everyone."""
        if self._login_order is None:
            active = [u for u in self.users.values() if u.active]
            active.sort(key=lambda u: (u.last_login is not None, u.last_login or 0, u.username))
            self._login_order = active
        return self._login_order

    # -- groups and memberships ------------------------------------------------------------

    def require_group(self, name: str) -> SortedNames:
        members = self.groups.get(name.lower())
        if members is None:
            raise NotFoundError(f"No group found with name: {name}")
        return members

    def create_group(self, name: str) -> str:
        group = name.lower()
        if group in self.groups:
            raise ConflictError(f"A group with the name '{group}' already exists")
        self.groups[group] = SortedNames()
        self._group_names.add(group)
        return group

    def delete_group(self, name: str, move_to: str | None = None) -> None:
        group = name.lower()
        members = self.require_group(group)
        if group in ADMIN_GROUPS and not (ADMIN_GROUPS - {group}) & self.groups.keys():
            raise LastAdminGroupError(f"Cannot delete '{group}': it is the last admin group")
        target = self.require_group(move_to) if move_to else None
        for username in members.names():
            user = self.users[username]
            user.groups.discard(group)
            if target is not None and move_to is not None:
                target.add(username)
                user.groups.add(move_to.lower())
        del self.groups[group]
        self._group_names.discard(group)

    def add_member(self, username: str, group: str) -> bool:
        user = self.require_user(username)
        members = self.require_group(group)
        if not members.add(user.username):
            return False
        user.groups.add(group.lower())
        return True

    def remove_member(self, username: str, group: str) -> bool:
        user = self.require_user(username)
        members = self.require_group(group)
        if not members.discard(user.username):
            return False
        user.groups.discard(group.lower())
        return True

    def group_page(self, start: int, limit: int) -> tuple[list[str], int]:
        return self._group_names.page(start, limit), len(self._group_names)

    def group_names(self) -> list[str]:
        return self._group_names.names()

    # -- long tasks ------------------------------------------------------------------------

    def submit_task(self, name: str, target: str) -> LongTask:
        task = LongTask(str(uuid.uuid4()), name, target)
        self.tasks[task.id] = task
        return task
