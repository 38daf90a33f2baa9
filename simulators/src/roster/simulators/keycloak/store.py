"""Realm state of the Keycloak simulator: users, groups and memberships in Keycloak's orderings.

Holds the IdP-neutral `Directory` plus the indexes that keep offset paging cheap at 100,000
users (users and group members by username, groups by name). Knows nothing about HTTP or JSON;
mutations say whether they changed anything so the caller can record admin events.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import TypeVar

from roster.simulators.directory import Directory, DirectoryGroup, DirectoryUser

T = TypeVar("T")


class ConflictError(Exception):
    """A username or sibling group name is already taken."""


def page(items: Sequence[T], first: int | None, max_results: int | None) -> Sequence[T]:
    """Keycloak's offset paging: a missing or negative `first`/`max` means no bound."""
    start = first if first is not None and first > 0 else 0
    if max_results is None or max_results < 0:
        return items[start:]
    return items[start : start + max_results]


class RealmStore:
    def __init__(self, directory: Directory, service_account: DirectoryUser) -> None:
        self.directory = directory
        self.service_account = service_account
        """Keycloak's `service-account-<client>` user: real, but hidden from plain listings."""
        self._order: list[str] = []
        self._keys: list[str] = []
        self._by_username: dict[str, str] = {}
        self._user_groups: dict[str, set[str]] = {}
        self._children: dict[str | None, list[str]] | None = None
        self._members_sorted: dict[str, list[str]] = {}
        self.memo: dict[str, dict[object, bytes]] = {}
        """Per-user cache of derived data (rendered JSON); dropped whenever that user changes."""
        self._reindex()

    def _reindex(self) -> None:
        users = self.directory.users
        self._order = sorted(users, key=lambda uid: users[uid].username)
        self._keys = [users[uid].username for uid in self._order]
        self._by_username = {u.username: u.id for u in users.values()}
        self._user_groups = {}
        for group in self.directory.groups.values():
            for uid in group.members:
                self._user_groups.setdefault(uid, set()).add(group.id)
        self._children = None
        self._members_sorted = {}
        self.memo = {}

    def replace(self, directory: Directory) -> None:
        self.directory = directory
        self._reindex()

    # users -----------------------------------------------------------------------------

    def user(self, user_id: str) -> DirectoryUser | None:
        if user_id == self.service_account.id:
            return self.service_account
        return self.directory.users.get(user_id)

    def user_count(self) -> int:
        return len(self._order)

    def users_page(self, first: int | None, max_results: int | None) -> list[DirectoryUser]:
        """Users ordered by username, service account excluded, as `GET /users` lists them."""
        users = self.directory.users
        return [users[uid] for uid in page(self._order, first, max_results)]

    def iter_users(self, *, include_service_account: bool) -> Iterator[DirectoryUser]:
        """All users in username order; the service account at its sorted place if asked."""
        users = self.directory.users
        split = len(self._order)
        if include_service_account:
            split = bisect.bisect_left(self._keys, self.service_account.username)
        for uid in self._order[:split]:
            yield users[uid]
        if include_service_account:
            yield self.service_account
            for uid in self._order[split:]:
                yield users[uid]

    def groups_of(self, user_id: str) -> list[DirectoryGroup]:
        groups = self.directory.groups
        return sorted(
            (groups[gid] for gid in self._user_groups.get(user_id, ())), key=lambda g: g.name
        )

    def add_user(self, user: DirectoryUser) -> None:
        if user.username in self._by_username or user.username == self.service_account.username:
            raise ConflictError("User exists with same username")
        if user.id in self.directory.users:
            raise ConflictError("User exists with same id")
        self.directory.users[user.id] = user
        self.memo.pop(user.id, None)
        self._insert_sorted(user)

    def update_user(self, user_id: str, changes: dict[str, object]) -> bool:
        """Apply field changes (DirectoryUser attribute names); True when something changed."""
        user = self.directory.users[user_id]
        changed = {k: v for k, v in changes.items() if getattr(user, k) != v}
        new_name = changed.get("username")
        if isinstance(new_name, str) and (
            new_name in self._by_username or new_name == self.service_account.username
        ):
            raise ConflictError("User exists with same username")
        self.memo.pop(user_id, None)
        if "username" in changed:
            self._remove_sorted(user)
        for key, value in changed.items():
            setattr(user, key, value)
        if "username" in changed:
            self._insert_sorted(user)
            for gid in self._user_groups.get(user_id, ()):
                self._members_sorted.pop(gid, None)
        return bool(changed)

    def delete_user(self, user_id: str) -> bool:
        user = self.directory.users.pop(user_id, None)
        if user is None:
            return False
        self.memo.pop(user_id, None)
        self._remove_sorted(user)
        for gid in self._user_groups.pop(user_id, set()):
            self.directory.groups[gid].members.discard(user_id)
            self._members_sorted.pop(gid, None)
        return True

    def _insert_sorted(self, user: DirectoryUser) -> None:
        index = bisect.bisect_left(self._keys, user.username)
        self._keys.insert(index, user.username)
        self._order.insert(index, user.id)
        self._by_username[user.username] = user.id

    def _remove_sorted(self, user: DirectoryUser) -> None:
        index = bisect.bisect_left(self._keys, user.username)
        del self._keys[index]
        del self._order[index]
        del self._by_username[user.username]

    # groups ----------------------------------------------------------------------------

    def group(self, group_id: str) -> DirectoryGroup | None:
        return self.directory.groups.get(group_id)

    def group_count(self, *, top_only: bool) -> int:
        if top_only:
            return len(self._children_index().get(None, []))
        return len(self.directory.groups)

    def top_groups(self) -> list[DirectoryGroup]:
        return self.children(None)

    def children(self, group_id: str | None) -> list[DirectoryGroup]:
        """Direct subgroups ordered by name; `None` gives the top-level groups."""
        groups = self.directory.groups
        return [groups[gid] for gid in self._children_index().get(group_id, [])]

    def subgroup_count(self, group_id: str) -> int:
        return len(self._children_index().get(group_id, []))

    def groups_by_name(self) -> list[DirectoryGroup]:
        return sorted(self.directory.groups.values(), key=lambda g: g.name)

    def path(self, group: DirectoryGroup) -> str:
        """Keycloak group path: `/parent/child`, with `/` inside a name escaped as `~/`."""
        parts: list[str] = []
        current: DirectoryGroup | None = group
        while current is not None:
            parts.append(current.name.replace("/", "~/"))
            current = self.directory.groups.get(current.parent_id) if current.parent_id else None
        return "/" + "/".join(reversed(parts))

    def members(self, group_id: str) -> list[str]:
        """Ids of the direct members ordered by username (cached until the group changes)."""
        cached = self._members_sorted.get(group_id)
        if cached is None:
            users = self.directory.users
            members = self.directory.groups[group_id].members
            cached = sorted(members, key=lambda u: users[u].username)
            self._members_sorted[group_id] = cached
        return cached

    def add_member(self, group_id: str, user_id: str) -> bool:
        group = self.directory.groups[group_id]
        if user_id in group.members:
            return False
        group.members.add(user_id)
        self._user_groups.setdefault(user_id, set()).add(group_id)
        self._members_sorted.pop(group_id, None)
        return True

    def remove_member(self, group_id: str, user_id: str) -> bool:
        group = self.directory.groups[group_id]
        if user_id not in group.members:
            return False
        group.members.discard(user_id)
        self._user_groups.get(user_id, set()).discard(group_id)
        self._members_sorted.pop(group_id, None)
        return True

    def add_group(self, group: DirectoryGroup) -> None:
        if group.parent_id is not None and group.parent_id not in self.directory.groups:
            raise KeyError(group.parent_id)
        if any(g.name == group.name for g in self.children(group.parent_id)):
            where = "Sibling" if group.parent_id else "Top level"
            raise ConflictError(f"{where} group named '{group.name}' already exists.")
        self.directory.groups[group.id] = group
        for uid in group.members:
            self._user_groups.setdefault(uid, set()).add(group.id)
        self._children = None

    def rename_group(self, group_id: str, name: str) -> bool:
        group = self.directory.groups[group_id]
        if group.name == name:
            return False
        if any(g.name == name for g in self.children(group.parent_id)):
            raise ConflictError(f"Sibling group named '{name}' already exists.")
        group.name = name
        self._children = None
        return True

    def delete_group(self, group_id: str) -> list[str]:
        """Remove a group and, as Keycloak does, all its subgroups; returns the removed ids."""
        removed = [group_id]
        for child in self.children(group_id):
            removed += self.delete_group(child.id)
        group = self.directory.groups.pop(group_id)
        for uid in group.members:
            self._user_groups.get(uid, set()).discard(group_id)
        self._members_sorted.pop(group_id, None)
        self._children = None
        return removed

    def _children_index(self) -> dict[str | None, list[str]]:
        if self._children is None:
            index: dict[str | None, list[str]] = {}
            for group in self.groups_by_name():
                index.setdefault(group.parent_id, []).append(group.id)
            self._children = index
        return self._children
