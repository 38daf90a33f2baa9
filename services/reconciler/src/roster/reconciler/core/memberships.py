"""Group rules: which groups are managed, which to create, and membership adds and removes.

Managed groups are the IdP's groups (lower-cased) minus protected ones; inside them members
are added and removed to match the IdP. Default groups are add-only. A protected group is
never created and never loses a member; it gains members only as a configured default group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from roster.reconciler.core.desired import DesiredGroup, DesiredState, DesiredUser
from roster.reconciler.core.draft import Draft
from roster.reconciler.core.policy import Policy
from roster.reconciler.core.state import ActualState
from roster.shared.messages.commands import AddMembership, RemoveMembership


@dataclass(frozen=True)
class GroupScope:
    directory: str
    managed: Mapping[str, DesiredGroup]
    """IdP-mapped groups whose membership this directory owns (adds and removes)."""
    defaults: frozenset[str]
    """Default groups users can be added to (they exist, or may be created)."""
    create: tuple[str, ...]
    """Managed and default groups missing in Confluence, protected ones excluded."""
    wanted: Mapping[str, frozenset[str]]
    """Username → managed groups the IdP puts it in."""
    have: Mapping[str, frozenset[str]]
    """Username → managed and default groups it is in, in Confluence."""

    def candidates(self, username: str) -> list[str]:
        """The groups whose membership of `username` may change: O(its groups), not O(all)."""
        empty: frozenset[str] = frozenset()
        names = self.wanted.get(username, empty) | self.have.get(username, empty) | self.defaults
        return sorted(names)


def _by_user(groups: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for group, usernames in groups.items():
        for username in usernames:
            index.setdefault(username, set()).add(group)
    return {u: frozenset(g) for u, g in index.items()}


def group_scope(
    desired: DesiredState, actual: ActualState, policy: Policy, draft: Draft
) -> GroupScope:
    managed: dict[str, DesiredGroup] = {}
    for name, group in sorted(desired.groups.items()):
        if policy.protects_group(name):
            draft.notes.append(
                f"IdP group '{group.idp_name}' maps to protected group '{name}': not managed"
            )
        else:
            managed[name] = group
    defaults: set[str] = set()
    for name in desired.default_groups:
        if policy.protects_group(name) and name not in actual.groups:
            draft.notes.append(
                f"default group '{name}' is protected and missing in Confluence: "
                "not created, no members added"
            )
        else:
            defaults.add(name)
    scoped = set(managed) | defaults
    create = tuple(sorted(g for g in scoped - actual.groups if not policy.protects_group(g)))
    return GroupScope(
        directory=desired.directory,
        managed=managed,
        defaults=frozenset(defaults),
        create=create,
        wanted=_by_user({name: group.members for name, group in managed.items()}),
        have=_by_user({name: actual.members_of(name) for name in scoped}),
    )


def plan_groups(draft: Draft, scope: GroupScope, actual: ActualState) -> None:
    for name in scope.create:
        group = scope.managed.get(name)
        reason = (
            f"created: IdP group '{group.idp_name}'"
            if group is not None
            else f"created: default group of directory '{scope.directory}'"
        )
        draft.add(draft.factory.create_group(name, reason=reason), subject=None)


def _change(scope: GroupScope, name: str, user: DesiredUser, have: bool) -> tuple[bool, str] | None:
    """(add?, reason) for one user and one group, or None when nothing changes."""
    group = scope.managed.get(name)
    in_idp = group is not None and user.username in group.members
    default = name in scope.defaults
    if not have and in_idp:
        assert group is not None
        return True, f"added: member of IdP group '{group.idp_name}'"
    if not have and default:
        return True, f"added: default group of directory '{scope.directory}'"
    if have and group is not None and not in_idp and not default:
        return False, f"removed: not a member of IdP group '{group.idp_name}'"
    return None


def plan_memberships(
    draft: Draft, scope: GroupScope, actual: ActualState, user: DesiredUser
) -> None:
    """Memberships of an active, provisioned user."""
    for name in scope.candidates(user.username):
        change = _change(scope, name, user, user.username in actual.members_of(name))
        if change is None:
            continue
        add, reason = change
        kind = AddMembership if add else RemoveMembership
        command = draft.factory.membership(kind, user.username, name, reason=reason)
        draft.add(command, subject=user.subject)


def strip_memberships(
    draft: Draft, scope: GroupScope, actual: ActualState, *, username: str, subject: str, why: str
) -> bool:
    """Remove a deprovisioned user from the managed groups; True when anything was removed."""
    removed = False
    for name in sorted(scope.have.get(username, frozenset())):
        if name in scope.defaults or name not in scope.managed:
            continue
        reason = f"removed: {why} (deprovision policy 'remove-groups-only')"
        command = draft.factory.membership(RemoveMembership, username, name, reason=reason)
        draft.add(command, subject=subject)
        removed = True
    return removed
