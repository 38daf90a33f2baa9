"""The desired Confluence state of one directory, computed from its IdP snapshot.

Decides usernames (an existing link wins over the IdP login, so a rename keeps the account),
display names, e-mails, group names and memberships, and which IdP users cannot be
provisioned and why. Knows nothing of Confluence's actual state: that is `plan`'s job.
Later mapping and filter rules plug in at `desired_user` and `group_name`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True, slots=True)
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


def desired_user(user: IdpUser, link: str | None) -> DesiredUser | SkippedUser:
    """One IdP user as a Confluence account, or why it cannot be one."""
    username = link or user.login.strip().lower()
    email = (user.email or "").strip().lower()
    if link is None and (problem := username_problem(username)):
        return SkippedUser(user.subject, user.login, f"skipped: {problem}")
    if user.active and not email:
        reason = "skipped: no email in IdP (Confluence requires one)"
        return SkippedUser(user.subject, user.login, reason, username=link)
    return DesiredUser(
        username=username,
        subject=user.subject,
        login=user.login,
        display_name=display_name_of(user),
        email=email,
        active=user.active,
    )


def group_name(group: IdpGroup) -> str:
    return group.name.strip().lower()


def _claim_order(users: Iterable[IdpUser], links: Mapping[str, str]) -> list[IdpUser]:
    # linked users keep their account; then active before inactive; then a stable order
    return sorted(users, key=lambda u: (u.subject not in links, not u.active, u.subject))


def _users(
    snapshot: IdpSnapshot, links: Mapping[str, str]
) -> tuple[dict[str, DesiredUser], list[SkippedUser]]:
    # a linked username stays with its subject even when that subject left the IdP
    claimed = {username: subject for subject, username in links.items()}
    users: dict[str, DesiredUser] = {}
    skipped: list[SkippedUser] = []
    for user in _claim_order(snapshot.users, links):
        result = desired_user(user, links.get(user.subject))
        if isinstance(result, SkippedUser):
            skipped.append(result)
            continue
        other = users[result.username].subject if result.username in users else None
        other = other or claimed.get(result.username, user.subject)
        if other != user.subject:
            reason = f"skipped: username '{result.username}' belongs to subject '{other}'"
            skipped.append(SkippedUser(user.subject, user.login, reason))
        else:
            users[result.username] = result
    return users, skipped


def _groups(snapshot: IdpSnapshot, users: Mapping[str, DesiredUser]) -> dict[str, DesiredGroup]:
    by_subject = {u.subject: u.username for u in users.values() if u.active}
    groups: dict[str, DesiredGroup] = {}
    for group in sorted(snapshot.groups, key=lambda g: g.id):
        name = group_name(group)
        if not name:
            continue
        subjects = snapshot.members.get(group.id, frozenset())
        members = frozenset(by_subject[s] for s in subjects if s in by_subject)
        if name in groups:  # "Eng" and "eng" are one Confluence group
            known = groups[name]
            groups[name] = DesiredGroup(name, known.idp_name, known.members | members)
        else:
            groups[name] = DesiredGroup(name, group.name, members)
    return groups


def build_desired(
    snapshot: IdpSnapshot, directory: DirectorySettings, links: Mapping[str, str]
) -> DesiredState:
    """`links`: this directory's link table, subject → username."""
    users, skipped = _users(snapshot, links)
    defaults = tuple(dict.fromkeys(g.strip().lower() for g in directory.default_groups if g))
    return DesiredState(
        directory=directory.id,
        users=users,
        groups=_groups(snapshot, users),
        default_groups=defaults,
        skipped=tuple(sorted(skipped, key=lambda s: s.subject)),
    )
