"""User rules: create, adopt, update, reactivate, and deprovision by policy.

Scope is what this directory created or linked, plus desired users matched by username
(adopted: a link is recorded). Protected users, users linked elsewhere and unlinked users
that are not desired are never touched; linked users the IdP skipped stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from roster.reconciler.core.desired import DesiredState, DesiredUser
from roster.reconciler.core.draft import Draft
from roster.reconciler.core.memberships import GroupScope, plan_memberships, strip_memberships
from roster.reconciler.core.policy import Policy
from roster.reconciler.core.state import ActualState, NewLink, Owner
from roster.shared.messages.commands import DeactivateUser, DeleteUser, ReactivateUser
from roster.shared.messages.state import ConfluenceUser


@dataclass(frozen=True)
class Context:
    desired: DesiredState
    actual: ActualState
    policy: Policy
    scope: GroupScope


def plan_users(draft: Draft, ctx: Context) -> None:
    linked = ctx.actual.linked(ctx.policy.directory)
    held: set[str] = set()
    for skipped in ctx.desired.skipped:
        draft.note(skipped.username, skipped.subject, skipped.reason, outcome="skipped")
        if skipped.username is not None:
            held.add(skipped.username)
    for username in sorted(set(ctx.desired.users) | set(linked)):
        user = ctx.desired.users.get(username)
        if ctx.policy.protects_user(username):
            if user is not None:
                reason = f"conflict: '{username}' is a protected Confluence user"
                draft.note(username, user.subject, reason, outcome="conflict")
        elif user is not None:
            _plan_desired(draft, ctx, user)
        elif username not in held:
            _deprovision(draft, ctx, username, linked[username], "removed from IdP")


def _plan_desired(draft: Draft, ctx: Context, user: DesiredUser) -> None:
    mine = Owner(ctx.policy.directory, user.subject)
    owner = ctx.actual.owners.get(user.username)
    if owner is not None and owner != mine:
        reason = (
            f"conflict: username '{user.username}' is linked to directory "
            f"'{owner.directory}' subject '{owner.subject}'"
        )
        draft.note(user.username, user.subject, reason, outcome="conflict")
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
    if current is None:
        reason = "created: new in IdP"
        command = draft.factory.create_user(
            user.username,
            display_name=user.display_name,
            email=user.email,
            subject=user.subject,
            reason=reason,
        )
        draft.add(command, subject=user.subject)
    else:
        if owner is None:
            reason = "adopted: existing Confluence user with the same username"
            draft.note(user.username, user.subject, reason)
        _converge_account(draft, user, current)
    if owner is None:
        draft.links.append(NewLink(user.subject, user.username))
    plan_memberships(draft, ctx.scope, ctx.actual, user)


def _converge_account(draft: Draft, user: DesiredUser, current: ConfluenceUser) -> None:
    if not current.active:
        command = draft.factory.user(
            ReactivateUser, user.username, reason="reactivated: active in IdP"
        )
        draft.add(command, subject=user.subject)
    changes = []
    if current.display_name != user.display_name:
        changes.append(f"display name '{current.display_name}' → '{user.display_name}'")
    # None: the writer did not read the email (REST never returns it); only a known,
    # different email is a change, or every sync would rewrite every account
    if current.email is not None and current.email.lower() != user.email:
        changes.append(f"email '{current.email}' → '{user.email}'")
    if changes:
        command = draft.factory.update_user(
            user.username,
            display_name=user.display_name,
            email=user.email,
            reason="updated: " + "; ".join(changes),
        )
        draft.add(command, subject=user.subject)


def _deprovision(draft: Draft, ctx: Context, username: str, subject: str, why: str) -> None:
    current = ctx.actual.users.get(username)
    policy = ctx.policy.deprovision
    if current is None:
        draft.note(username, subject, f"unchanged: {why}, account no longer in Confluence")
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
        command = draft.factory.user(DeactivateUser, username, reason=f"deactivated: {why}")
        draft.add(command, subject=subject)
    else:
        draft.note(username, subject, f"unchanged: {why}, already deactivated")
