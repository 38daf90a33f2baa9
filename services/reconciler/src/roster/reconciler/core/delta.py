"""Delta planning: the directory state ⊕ a run's delta events, what they affect, the plan filter.

`apply_delta` folds delta events into the directory state (a single-user run's groups are the
user's complete direct group set); `scope_of` names the affected usernames and groups and
what to read from Confluence; `keep_affected` drops what a full plan says about anyone else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from roster.reconciler.core.desired import DEFAULT_WATCH_GROUPS, build_desired, group_name
from roster.reconciler.core.plan import Plan, summarise
from roster.reconciler.core.reading import ReadScope
from roster.reconciler.core.state import IdpSnapshot
from roster.shared.config import DirectorySettings
from roster.shared.messages.commands import (
    CreateGroup,
    GroupCommand,
    MembershipCommand,
    UserCommand,
    WriteCommand,
)
from roster.shared.messages.directory import (
    GroupChanged,
    GroupRemoved,
    IdpGroup,
    IdpUser,
    MembershipAdded,
    MembershipRemoved,
    UserChanged,
    UserRemoved,
)

DeltaEvent = (
    UserChanged | UserRemoved | GroupChanged | GroupRemoved | MembershipAdded | MembershipRemoved
)
DELTA_EVENTS = DeltaEvent
"""For `isinstance` checks."""


@dataclass(frozen=True)
class Applied:
    snapshot: IdpSnapshot
    subjects: frozenset[str]
    """Users the events name (changed, removed, or whose memberships changed)."""
    changed_groups: frozenset[str]
    """Group ids changed or removed as groups (every member is affected); never in a
    single-user run, which knows only one member of each group."""
    touched_groups: frozenset[str]
    """Group ids whose Confluence members must be read: changed groups and every group an
    affected subject is in, before or after."""


def _descendants(groups: Mapping[str, IdpGroup], root: str) -> set[str]:
    doomed = {root}
    children: dict[str, list[str]] = {}
    for group in groups.values():
        if group.parent_id is not None:
            children.setdefault(group.parent_id, []).append(group.id)
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in doomed:
                doomed.add(child)
                stack.append(child)
    return doomed


@dataclass
class _Fold:
    users: dict[str, IdpUser]
    groups: dict[str, IdpGroup]
    members: dict[str, set[str]]
    single: str | None
    subjects: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    given: set[str] = field(default_factory=set)
    """Groups a MembershipAdded named (a single-user run's complete set)."""

    def user(self, event: DeltaEvent) -> None:
        if isinstance(event, UserChanged):
            self.users[event.user.subject] = event.user
            self.subjects.add(event.user.subject)
        elif isinstance(event, UserRemoved):
            self.users.pop(event.subject, None)
            self.subjects.add(event.subject)
            for group_members in self.members.values():
                group_members.discard(event.subject)

    def group(self, event: DeltaEvent) -> None:
        if isinstance(event, GroupChanged):
            self.groups[event.group.id] = event.group
            self.members.setdefault(event.group.id, set())
            if self.single is None:
                self.changed.add(event.group.id)
        elif isinstance(event, GroupRemoved):
            doomed = _descendants(self.groups, event.group_id)  # subgroups go with it
            for gone in doomed:
                self.groups.pop(gone, None)
                self.members.pop(gone, None)
            self.changed |= doomed

    def membership(self, event: DeltaEvent) -> None:
        if isinstance(event, MembershipAdded):
            self.subjects.add(event.subject)
            self.given.add(event.group_id)
            if event.group_id in self.groups:
                self.members.setdefault(event.group_id, set()).add(event.subject)
        elif isinstance(event, MembershipRemoved):
            self.subjects.add(event.subject)
            self.members.get(event.group_id, set()).discard(event.subject)


def apply_delta(
    base: IdpSnapshot, events: Sequence[DeltaEvent], *, single: str | None = None
) -> Applied:
    """`single`: the subject of a single-user run; its groups not in the events are dropped."""
    fold = _Fold(
        users={u.subject: u for u in base.users},
        groups={g.id: g for g in base.groups},
        members={g: set(m) for g, m in base.members.items()},
        single=single,
    )
    for event in events:
        fold.user(event)
        fold.group(event)
        fold.membership(event)
    if single is not None:
        fold.subjects.add(single)
        for group_id, group_members in fold.members.items():
            if group_id not in fold.given:
                group_members.discard(single)
    touched = set(fold.changed)
    for source in (base.members, fold.members):
        touched |= {g for g, m in source.items() if not fold.subjects.isdisjoint(m)}
    snapshot = IdpSnapshot(
        users=tuple(fold.users.values()),
        groups=tuple(fold.groups.values()),
        members={g: frozenset(m) for g, m in fold.members.items() if g in fold.groups},
    )
    return Applied(snapshot, frozenset(fold.subjects), frozenset(fold.changed), frozenset(touched))


@dataclass(frozen=True)
class DeltaScope:
    """What a delta run may change in Confluence."""

    subjects: frozenset[str] = frozenset()
    usernames: frozenset[str] = frozenset()
    """Lower-case usernames of the affected subjects (linked or desired)."""
    groups: frozenset[str] = frozenset()
    """Lower-case names of groups changed as groups: all their memberships are in scope."""
    read_groups: frozenset[str] = frozenset()
    """Lower-case names of groups whose Confluence members the plan needs."""


def _names(ids: Iterable[str], *snapshots: IdpSnapshot) -> set[str]:
    wanted = set(ids)
    return {group_name(g) for s in snapshots for g in s.groups if g.id in wanted} - {""}


def _login(user: IdpUser) -> str:
    return user.login.strip().lower()


def contenders(applied: Applied, base: IdpSnapshot, links: Mapping[str, str]) -> set[str]:
    """The affected subjects plus those contending for a username one of them has or wants
    (same login, or linked to it): which of them gets the account may change."""
    both = (base, applied.snapshot)
    names = {links[s] for s in applied.subjects if s in links}
    names |= {_login(u) for snap in both for u in snap.users if u.subject in applied.subjects}
    subjects = set(applied.subjects)
    subjects |= {u.subject for snap in both for u in snap.users if _login(u) in names}
    subjects |= {s for s, username in links.items() if username in names}
    return subjects


def scope_of(
    applied: Applied,
    base: IdpSnapshot,
    settings: DirectorySettings,
    links: Mapping[str, str],
    watch_groups: Iterable[str] = DEFAULT_WATCH_GROUPS,
) -> DeltaScope:
    """Desired usernames come from `build_desired` over the contenders only (O(change), not
    O(directory)); `links` is the directory's subject → username. The administrator groups
    (`watch_groups`) are always read: the plan must see who is protected."""
    both = (base, applied.snapshot)
    subjects = contenders(applied, base, links)
    mine = IdpSnapshot(users=tuple(u for u in applied.snapshot.users if u.subject in subjects))
    desired = build_desired(mine, settings, links, watch_groups=watch_groups)
    usernames = {links[s] for s in subjects if s in links}
    usernames |= {u.username for u in desired.users.values() if u.subject in subjects}
    touched = set(applied.touched_groups)
    for snap in both:
        touched |= {g for g, m in snap.members.items() if not subjects.isdisjoint(m)}
    read = _names(touched, *both) | set(desired.default_groups) | set(desired.watch_groups)
    return DeltaScope(
        subjects=frozenset(subjects),
        usernames=frozenset(usernames - {""}),
        groups=frozenset(_names(applied.changed_groups, *both)),
        read_groups=frozenset(read),
    )


def delta_read_scope(scope: DeltaScope) -> ReadScope:
    return ReadScope(tuple(sorted(scope.read_groups)), tuple(sorted(scope.usernames)))


def _kept(command: WriteCommand, scope: DeltaScope) -> bool:
    if isinstance(command, MembershipCommand):
        return command.username in scope.usernames or command.group in scope.groups
    if isinstance(command, UserCommand):
        return command.username in scope.usernames
    assert isinstance(command, GroupCommand)
    return command.group in scope.groups


def keep_affected(result: Plan, scope: DeltaScope) -> Plan:
    """The part of a plan about the affected users and groups (summary recounted); a group
    creation stays when a kept membership needs the group."""
    needed = {c.group for c in result.commands if isinstance(c, MembershipCommand)
              and _kept(c, scope)}  # fmt: skip
    commands = tuple(
        c
        for c in result.commands
        if _kept(c, scope) or (isinstance(c, CreateGroup) and c.group in needed)
    )
    explanations = tuple(
        e
        for e in result.explanations
        if (e.username is not None and e.username in scope.usernames)
        or (e.subject is not None and e.subject in scope.subjects)
    )
    links = tuple(
        link
        for link in result.links
        if link.subject in scope.subjects or link.username in scope.usernames
    )
    return dataclasses.replace(
        result,
        commands=commands,
        explanations=explanations,
        links=links,
        summary=summarise(commands, explanations),
    )


@dataclass
class SnapshotDiff:
    """Writes that turn the stored base snapshot into the new one."""

    put_users: list[IdpUser] = field(default_factory=list)
    drop_users: list[str] = field(default_factory=list)
    put_groups: list[IdpGroup] = field(default_factory=list)
    drop_groups: list[str] = field(default_factory=list)
    add_members: dict[str, set[str]] = field(default_factory=dict)
    remove_members: dict[str, set[str]] = field(default_factory=dict)


def snapshot_diff(old: IdpSnapshot, applied: Applied) -> SnapshotDiff:
    """Only what the fold may have changed is compared: O(change), not O(directory)."""
    new = applied.snapshot
    diff = SnapshotDiff()
    old_users = {u.subject: u for u in old.users if u.subject in applied.subjects}
    new_users = {u.subject: u for u in new.users if u.subject in applied.subjects}
    diff.put_users = [u for s, u in new_users.items() if old_users.get(s) != u]
    diff.drop_users = sorted(set(old_users) - set(new_users))
    ids = applied.changed_groups | applied.touched_groups
    old_groups = {g.id: g for g in old.groups if g.id in ids}
    new_groups = {g.id: g for g in new.groups if g.id in ids}
    diff.put_groups = [g for i, g in new_groups.items() if old_groups.get(i) != g]
    diff.drop_groups = sorted(set(old_groups) - set(new_groups))
    for group_id in new_groups:
        before = old.members.get(group_id, frozenset())
        after = new.members.get(group_id, frozenset())
        if after - before:
            diff.add_members[group_id] = set(after - before)
        if before - after:
            diff.remove_members[group_id] = set(before - after)
    return diff
