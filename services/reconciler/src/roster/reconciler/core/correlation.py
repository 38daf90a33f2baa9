"""Correlation: which existing Confluence account an unlinked IdP user becomes.

The link table decides first (in `desired`); then, with `correlate_by: email`, an unlinked
Confluence user with the IdP user's email is adopted under its own username (the plan
records the link, so later renames keep it). Several IdP users matching one account are
all reported as conflicts, none applied. Idempotent: correlating twice changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from roster.reconciler.core.desired import DesiredGroup, DesiredState, DesiredUser, SkippedUser
from roster.reconciler.core.rules import PlanRules
from roster.reconciler.core.state import ActualState


def _by_email(actual: ActualState) -> dict[str, str]:
    """Email → username of unlinked Confluence users whose email is known and unique."""
    seen: dict[str, list[str]] = {}
    for username, user in actual.users.items():
        if user.email and username not in actual.owners:
            seen.setdefault(user.email.strip().lower(), []).append(username)
    return {email: names[0] for email, names in seen.items() if len(names) == 1}


def _target(user: DesiredUser, actual: ActualState, emails: dict[str, str]) -> str:
    if user.username in actual.owners or not user.active:
        return user.username  # linked (here, or shared by precedence), or not provisioned
    return emails.get(user.email, user.username)


def correlate(desired: DesiredState, actual: ActualState, rules: PlanRules) -> DesiredState:
    if rules.correlate_by != "email":
        return desired
    emails = _by_email(actual)
    wanted: dict[str, list[DesiredUser]] = {}
    for user in desired.users.values():
        wanted.setdefault(_target(user, actual, emails), []).append(user)
    users: dict[str, DesiredUser] = {}
    renamed: dict[str, str] = {}
    skipped = list(desired.skipped)
    for target, claimants in sorted(wanted.items()):
        if len(claimants) == 1:
            user = claimants[0]
            users[target] = replace(user, username=target)
            renamed[user.username] = target
            continue
        subjects = ", ".join(f"'{u.subject}'" for u in sorted(claimants, key=lambda u: u.subject))
        reason = (
            f"conflict: IdP users {subjects} match Confluence user '{target}' "
            "(by username or email): none is applied"
        )
        skipped += [SkippedUser(u.subject, u.login, reason, outcome="conflict") for u in claimants]
    groups = {
        name: DesiredGroup(
            name, group.idp_name, frozenset(renamed[m] for m in group.members if m in renamed)
        )
        for name, group in desired.groups.items()
    }
    return replace(
        desired,
        users=users,
        groups=groups,
        skipped=tuple(sorted(skipped, key=lambda s: s.subject)),
    )
