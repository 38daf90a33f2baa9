"""The desired Confluence state of one directory, computed from its IdP snapshot.

Decides usernames (a link wins over the mapped login, so a rename keeps the account),
display names, e-mails, group names and memberships, who is out of scope (required groups)
or cannot be provisioned and why, by the directory's `ruleset` (`filters`, `mapping`).
Knows nothing of Confluence's actual state: that is `plan`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from roster.reconciler.core.filters import (
    GroupFilter,
    effective_members,
    groups_of,
    map_group_name,
    scope_problem,
)
from roster.reconciler.core.mapping import Attribute, CompiledMapping, MappingError
from roster.reconciler.core.ruleset import ruleset_for
from roster.reconciler.core.state import IdpSnapshot
from roster.shared.config import DirectorySettings
from roster.shared.messages.directory import IdpGroup, IdpUser

# Confluence's create-user rules (reference/confluence-dc-api.md): no whitespace, none of
# these characters, no upper case (we lower-case), not "anonymous".
_BAD_USERNAME = re.compile(r"[\s\\,+<>'\"]")
_RESERVED_USERNAMES = frozenset({"anonymous"})


@dataclass(frozen=True, slots=True)
class DesiredUser:
    username: str
    """Lower-case Confluence username."""
    subject: str
    login: str
    display_name: str
    email: str
    """Lower-case; empty only for inactive users (active ones without one are skipped)."""
    active: bool
    manage_display_name: bool = True
    """False when a mapping rule says `skip`: Confluence's value is left as it is (the
    value above is only used to create the account)."""
    manage_email: bool = True


@dataclass(frozen=True)
class DesiredGroup:
    name: str
    """Lower-case Confluence group name."""
    idp_name: str
    """The IdP's own spelling, for reasons shown to people."""
    members: frozenset[str]
    """Usernames of the active desired users in it."""


@dataclass(frozen=True, slots=True)
class SkippedUser:
    """An IdP user that is not provisioned; `username` is set when it is linked already."""

    subject: str
    login: str
    reason: str
    username: str | None = None
    outcome: str = "skipped"
    """`skipped`, or `conflict` when another IdP user wants the same account."""


@dataclass(frozen=True)
class DesiredState:
    directory: str
    users: Mapping[str, DesiredUser] = field(default_factory=dict)
    """Username → user, inactive IdP users included (they drive deprovisioning)."""
    groups: Mapping[str, DesiredGroup] = field(default_factory=dict)
    """Lower-case name → IdP-mapped group."""
    default_groups: tuple[str, ...] = ()
    """Lower-case groups every active provisioned user joins (add-only)."""
    skipped: tuple[SkippedUser, ...] = ()
    out_of_scope: Mapping[str, str] = field(default_factory=dict)
    """Linked username → why its IdP user is out of scope (e.g. not in a required group);
    such users are deprovisioned with that reason."""
    watch_groups: tuple[str, ...] = ()
    """Groups whose members the plan must see but never changes (administrators)."""

    def active_users(self) -> list[DesiredUser]:
        return [u for u in self.users.values() if u.active]


def display_name_of(user: IdpUser) -> str:
    if user.display_name and user.display_name.strip():
        return user.display_name.strip()
    parts = [p.strip() for p in (user.given_name, user.family_name) if p and p.strip()]
    return " ".join(parts) or user.login


def username_problem(username: str) -> str | None:
    if not username:
        return "empty username"
    if username in _RESERVED_USERNAMES:
        return f"username '{username}' is reserved in Confluence"
    if _BAD_USERNAME.search(username):
        return f"username '{username}' has characters Confluence rejects"
    return None


def _raw(user: IdpUser, attribute: Attribute) -> str:
    if attribute == "username":
        return user.login
    if attribute == "display_name":
        return display_name_of(user)
    return user.email or ""


@dataclass(frozen=True, slots=True)
class _Mapped:
    username: str
    display_name: str
    email: str
    manage_display_name: bool
    manage_email: bool


def _mapped(user: IdpUser, mapping: CompiledMapping | None) -> _Mapped | str:
    """The user's attributes after the mapping rules, or why it is left out."""
    values: dict[str, str] = {}
    managed: dict[str, bool] = {}
    context = mapping.context(user) if mapping is not None and mapping.rules else None
    for attribute in ("username", "display_name", "email"):
        raw = _raw(user, attribute)
        rule = mapping.rule(attribute) if mapping is not None else None
        value = mapping.evaluate(attribute, user, context) if mapping is not None else None
        managed[attribute] = True
        if rule is None or value is None or value:
            values[attribute] = raw if value is None else value
        elif rule.when_empty == "leave-out":
            return f"skipped: mapping of '{attribute}' gave no value (when_empty: leave-out)"
        elif rule.when_empty == "clear":
            values[attribute] = ""
        else:  # keep-raw, or skip: the raw value only serves account creation
            values[attribute] = raw
            managed[attribute] = rule.when_empty != "skip"
    return _Mapped(
        username=values["username"].strip().lower(),
        display_name=values["display_name"].strip(),
        email=values["email"].strip().lower(),
        manage_display_name=managed["display_name"],
        manage_email=managed["email"],
    )


def desired_user(
    user: IdpUser, link: str | None, mapping: CompiledMapping | None = None
) -> DesiredUser | SkippedUser:
    """One IdP user as a Confluence account, or why it cannot be one."""
    try:
        mapped = _mapped(user, mapping)
    except MappingError as exc:
        return SkippedUser(user.subject, user.login, f"skipped: {exc}", username=link)
    if isinstance(mapped, str):
        return SkippedUser(user.subject, user.login, mapped, username=link)
    username = link or mapped.username
    if link is None and (problem := username_problem(username)):
        return SkippedUser(user.subject, user.login, f"skipped: {problem}")
    if user.active and not mapped.email:
        reason = "skipped: no email in IdP (Confluence requires one)"
        return SkippedUser(user.subject, user.login, reason, username=link)
    return DesiredUser(
        username=username,
        subject=user.subject,
        login=user.login,
        display_name=mapped.display_name,
        email=mapped.email,
        active=user.active,
        manage_display_name=mapped.manage_display_name,
        manage_email=mapped.manage_email,
    )


def group_name(group: IdpGroup, rules: GroupFilter | None = None) -> str:
    if rules is None:
        return group.name.strip().lower()
    return map_group_name(group.name, rules.names)


def _claim_order(users: Iterable[IdpUser], links: Mapping[str, str]) -> list[IdpUser]:
    # linked users keep their account; then active before inactive; then a stable order
    return sorted(users, key=lambda u: (u.subject not in links, not u.active, u.subject))


def _collisions(candidates: list[DesiredUser]) -> dict[str, list[str]]:
    """Usernames wanted by several unlinked, active IdP users → their subjects."""
    by_name: dict[str, list[str]] = {}
    for user in candidates:
        if user.active:
            by_name.setdefault(user.username, []).append(user.subject)
    return {name: sorted(group) for name, group in by_name.items() if len(group) > 1}


def _users(
    users: Iterable[IdpUser], links: Mapping[str, str], mapping: CompiledMapping | None
) -> tuple[dict[str, DesiredUser], list[SkippedUser]]:
    # a linked username stays with its subject even when that subject left the IdP
    claimed = {username: subject for subject, username in links.items()}
    result: dict[str, DesiredUser] = {}
    skipped: list[SkippedUser] = []
    candidates: list[DesiredUser] = []
    for user in _claim_order(users, links):
        found = desired_user(user, links.get(user.subject), mapping)
        if isinstance(found, SkippedUser):
            skipped.append(found)
        else:
            candidates.append(found)
    collided = _collisions([u for u in candidates if u.username not in claimed])
    for wanted in candidates:
        if wanted.username in collided:
            names = ", ".join(f"'{s}'" for s in collided[wanted.username])
            reason = f"IdP users {names} map to username '{wanted.username}'"
            if wanted.active:
                reason, outcome = f"conflict: {reason}: none is provisioned", "conflict"
            else:
                reason, outcome = f"skipped: {reason}", "skipped"
            skipped.append(SkippedUser(wanted.subject, wanted.login, reason, outcome=outcome))
            continue
        other = result[wanted.username].subject if wanted.username in result else None
        other = other or claimed.get(wanted.username, wanted.subject)
        if other != wanted.subject:
            reason = f"skipped: username '{wanted.username}' belongs to subject '{other}'"
            skipped.append(SkippedUser(wanted.subject, wanted.login, reason))
        else:
            result[wanted.username] = wanted
    return result, skipped


def _groups(
    snapshot: IdpSnapshot,
    members: Mapping[str, frozenset[str]],
    users: Mapping[str, DesiredUser],
    rules: GroupFilter,
) -> dict[str, DesiredGroup]:
    by_subject = {u.subject: u.username for u in users.values() if u.active}
    groups: dict[str, DesiredGroup] = {}
    for group in sorted(snapshot.groups, key=lambda g: g.id):
        if not rules.mapped(group):
            continue
        name = group_name(group, rules)
        if not name:
            continue
        subjects = members.get(group.id, frozenset())
        usernames = frozenset(by_subject[s] for s in subjects if s in by_subject)
        if name in groups:  # "Eng" and "eng" (or two mapped names) are one Confluence group
            known = groups[name]
            groups[name] = DesiredGroup(name, known.idp_name, known.members | usernames)
        else:
            groups[name] = DesiredGroup(name, group.name, usernames)
    return groups


DEFAULT_WATCH_GROUPS = ("confluence-administrators",)


def build_desired(
    snapshot: IdpSnapshot,
    directory: DirectorySettings,
    links: Mapping[str, str],
    *,
    watch_groups: Iterable[str] = DEFAULT_WATCH_GROUPS,
) -> DesiredState:
    """`links`: this directory's link table, subject → username. `watch_groups`: groups
    to read for protection (`confluence.administrator_groups`)."""
    rules = ruleset_for(directory)
    members = effective_members(snapshot, flatten=rules.groups.flatten_nested)
    names = {g.id: g.name for g in snapshot.groups}
    memberships = groups_of(members)
    in_scope: list[IdpUser] = []
    out_of_scope: dict[str, str] = {}
    for user in snapshot.users:
        problem = scope_problem(memberships.get(user.subject, ()), names, rules.groups.required)
        if problem is None:
            in_scope.append(user)
        elif user.subject in links:
            out_of_scope[links[user.subject]] = problem
    users, skipped = _users(in_scope, links, rules.mapping)
    defaults = tuple(dict.fromkeys(g.strip().lower() for g in directory.default_groups if g))
    return DesiredState(
        directory=directory.id,
        users=users,
        groups=_groups(snapshot, members, users, rules.groups),
        default_groups=defaults,
        skipped=tuple(sorted(skipped, key=lambda s: s.subject)),
        out_of_scope=out_of_scope,
        watch_groups=tuple(dict.fromkeys(g.strip().lower() for g in watch_groups if g.strip())),
    )
