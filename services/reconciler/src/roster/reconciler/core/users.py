"""User rules: create, adopt, update, reactivate, and deprovision by policy.

Scope is what this directory created or linked, plus desired users matched by username or
email (adopted: a link is recorded). Protected users, administrators, users linked
elsewhere (unless shared by precedence) and unlinked users that are not desired are never
touched; linked users the IdP skipped stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from roster.reconciler.core.claims import active_elsewhere, preferred
from roster.reconciler.core.cleanup import plan_cleanup
from roster.reconciler.core.desired import DesiredState, DesiredUser
from roster.reconciler.core.draft import Draft
from roster.reconciler.core.memberships import GroupScope, plan_memberships, strip_memberships
from roster.reconciler.core.policy import Policy
from roster.reconciler.core.rules import PlanRules
from roster.reconciler.core.state import ActualState, NewLink, Owner
from roster.shared.messages.commands import DeactivateUser, DeleteUser, ReactivateUser
from roster.shared.messages.state import ConfluenceUser


@dataclass(frozen=True)
class Context:
    desired: DesiredState
    actual: ActualState
    policy: Policy
    scope: GroupScope
    rules: PlanRules = field(default_factory=PlanRules)
    now: datetime | None = None
    admins: dict[str, str] = field(default_factory=dict)
    """Username → the administrator group it is in (filled by `with_admins`)."""

    def with_admins(self) -> Context:
        admins: dict[str, str] = {}
        for group in self.rules.admin_groups:
            for username in self.actual.members_of(group):
                admins.setdefault(username, group)
        return replace(self, admins=admins)

    def protection(self, username: str) -> str | None:
        if self.policy.protects_user(username):
            return f"'{username}' is a protected Confluence user"
        if username in self.admins:
            return f"'{username}' is a Confluence administrator (in '{self.admins[username]}')"
        return None


def plan_users(draft: Draft, ctx: Context) -> None:
    ctx = ctx.with_admins()
    linked = ctx.actual.linked(ctx.policy.directory)
    held: set[str] = set()
    for skipped in ctx.desired.skipped:
        draft.note(skipped.username, skipped.subject, skipped.reason, outcome=skipped.outcome)
        if skipped.username is not None:
            held.add(skipped.username)
    for username in sorted(set(ctx.desired.users) | set(linked)):
        user = ctx.desired.users.get(username)
        if (protection := ctx.protection(username)) is not None:
            if user is not None:
                draft.note(username, user.subject, f"conflict: {protection}", outcome="conflict")
        elif user is not None:
            _plan_desired(draft, ctx, user)
        elif username not in held:
            why = ctx.desired.out_of_scope.get(username, "removed from IdP")
            _deprovision(draft, ctx, username, linked[username], why)
    plan_cleanup(draft, ctx.actual, ctx.rules, directory=ctx.policy.directory, now=ctx.now,
                 protected=ctx.protection)  # fmt: skip


def _owned_elsewhere(draft: Draft, ctx: Context, user: DesiredUser, owner: Owner | None) -> bool:
    """True (and a conflict noted) when another subject or unshared directory owns it."""
    if owner is None or owner == Owner(ctx.policy.directory, user.subject):
        return False
    if ctx.rules.shared(ctx.policy.directory, owner.directory):
        return False
    reason = (
        f"conflict: username '{user.username}' is linked to directory "
        f"'{owner.directory}' subject '{owner.subject}'"
    )
    draft.note(user.username, user.subject, reason, outcome="conflict")
    return True


def _plan_desired(draft: Draft, ctx: Context, user: DesiredUser) -> None:
    mine = Owner(ctx.policy.directory, user.subject)
    owner = ctx.actual.owners.get(user.username)
    if _owned_elsewhere(draft, ctx, user, owner):
        return
    draft.track(user.username, user.subject)
    current = ctx.actual.users.get(user.username)
    if not user.active:
        if owner == mine:
            _deprovision(draft, ctx, user.username, user.subject, "inactive in IdP")
        else:
            reason = "ignored: inactive in IdP and not linked to this directory"
            draft.note(user.username, user.subject, reason, outcome="ignored")
        return
    values = preferred(user, ctx.policy.directory, ctx.rules)
    if values.source is not None:
        reason = f"attributes from directory '{values.source}' (directory precedence)"
        draft.note(user.username, user.subject, reason)
    if current is None:
        command = draft.factory.create_user(
            user.username,
            display_name=values.display_name,
            email=values.email,
            subject=user.subject,
            reason="created: new in IdP",
        )
        draft.add(command, subject=user.subject)
    else:
        if owner is None:
            by = "email" if ctx.rules.correlate_by == "email" and current.email and \
                current.email.lower() == user.email else "username"  # fmt: skip
            draft.note(user.username, user.subject, f"adopted: existing Confluence user "
                       f"with the same {by}")  # fmt: skip
        _converge_account(draft, ctx, user, current)
    if owner is None:
        draft.links.append(NewLink(user.subject, user.username))
    plan_memberships(draft, ctx.scope, ctx.actual, user)


def _converge_account(
    draft: Draft, ctx: Context, user: DesiredUser, current: ConfluenceUser
) -> None:
    if not current.active:
        cleaned = ctx.rules.cleaned_up.get(user.username)
        if cleaned is not None:
            reason = f"kept deactivated: deactivated by inactivity cleanup on {cleaned.date()}"
            draft.note(user.username, user.subject, reason)
        else:
            command = draft.factory.user(
                ReactivateUser, user.username, reason="reactivated: active in IdP"
            )
            draft.add(command, subject=user.subject)
    values = preferred(user, ctx.policy.directory, ctx.rules)
    display_name = values.display_name if user.manage_display_name else current.display_name
    email = values.email if user.manage_email else (current.email or values.email)
    changes = []
    if current.display_name != display_name:
        changes.append(f"display name '{current.display_name}' → '{display_name}'")
    # None: the writer did not read the email (REST never returns it); only a known,
    # different email is a change, or every sync would rewrite every account
    if current.email is not None and current.email.lower() != email:
        changes.append(f"email '{current.email}' → '{email}'")
    if changes:
        command = draft.factory.update_user(
            user.username,
            display_name=display_name,
            email=email,
            reason="updated: " + "; ".join(changes),
        )
        draft.add(command, subject=user.subject)


def _deprovision(draft: Draft, ctx: Context, username: str, subject: str, why: str) -> None:
    current = ctx.actual.users.get(username)
    policy = ctx.policy.deprovision
    elsewhere = active_elsewhere(username, ctx.policy.directory, ctx.rules)
    if current is None:
        draft.note(username, subject, f"unchanged: {why}, account no longer in Confluence")
    elif elsewhere is not None:
        draft.note(username, subject, f"kept: {why}, still active in directory '{elsewhere}'")
    elif policy == "none":
        draft.note(username, subject, f"kept: {why} (deprovision policy 'none')")
    elif policy == "delete":
        command = draft.factory.user(DeleteUser, username, reason=f"deleted: {why}")
        draft.add(command, subject=subject)
    elif policy == "remove-groups-only":
        stripped = strip_memberships(
            draft, ctx.scope, ctx.actual, username=username, subject=subject, why=why
        )
        if not stripped:
            draft.note(username, subject, f"unchanged: {why}, no managed group left")
    elif current.active:
        days = ctx.rules.delete_after_days
        grace = f" (deleted after {days} days)" if days else ""
        command = draft.factory.user(DeactivateUser, username, reason=f"deactivated: {why}{grace}")
        draft.add(command, subject=subject)
    else:
        _after_grace(draft, ctx, username, subject, why)


def _after_grace(draft: Draft, ctx: Context, username: str, subject: str, why: str) -> None:
    """An already deactivated user: delete it once the grace period is over."""
    days = ctx.rules.delete_after_days
    since = ctx.rules.deprovisioned_at.get(username)
    if days is None or since is None or ctx.now is None:
        draft.note(username, subject, f"unchanged: {why}, already deactivated")
        return
    due = since + timedelta(days=days)
    if ctx.now < due:
        draft.note(username, subject, f"unchanged: {why}, deactivated; deleted after {due.date()}")
        return
    reason = f"deleted: {why}, deactivated since {since.date()} ({days}-day grace period over)"
    draft.add(draft.factory.user(DeleteUser, username, reason=reason), subject=subject)
