"""Inactivity cleanup: deactivate this directory's users who have not logged in for N days.

Runs inside a full sync's plan when the directory has `cleanup` settings. Only users
linked to the directory, active in Confluence, not protected or administrators, not
already deprovisioned by the plan, and (with `groups`) in a matching group that was read.
Without last-login data from Confluence it notes so and deactivates nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from roster.reconciler.core.draft import Draft
from roster.reconciler.core.filters import Patterns
from roster.reconciler.core.rules import PlanRules
from roster.reconciler.core.state import ActualState
from roster.shared.messages.commands import DeactivateUser

CLEANUP_TAG = "(inactivity cleanup)"
"""Ends the reason of every cleanup deactivation; how the planner records them."""
NO_LOGIN_DATA = (
    "inactivity cleanup skipped: Confluence reported no last-login times "
    "(its user listing has none in this version); nobody deactivated"
)


def last_login(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _in_groups(actual: ActualState, username: str, patterns: Patterns) -> bool:
    if not patterns:
        return True
    return any(username in actual.members_of(g) for g in actual.members if patterns.matches(g))


def _why(login: datetime | None, cutoff: datetime, days: int, never: bool) -> str | None:
    if login is None:
        return f"deactivated: never logged in {CLEANUP_TAG}" if never else None
    if login < cutoff:
        return f"deactivated: no login for {days} days (last {login.date()}) {CLEANUP_TAG}"
    return None


def plan_cleanup(
    draft: Draft,
    actual: ActualState,
    rules: PlanRules,
    *,
    directory: str,
    now: datetime | None,
    protected: Callable[[str], str | None],
) -> None:
    settings = rules.cleanup
    if settings is None or now is None:
        return
    if not any(last_login(u.last_login) for u in actual.users.values()):
        draft.notes.append(NO_LOGIN_DATA)
        return
    cutoff = now - timedelta(days=settings.inactive_days)
    patterns = Patterns.of(settings.groups)
    for username, subject in sorted(actual.linked(directory).items()):
        current = actual.users.get(username)
        if current is None or not current.active or protected(username) is not None:
            continue
        if username in draft.user_commands and any(
            c.type in ("DeactivateUser", "DeleteUser") for c in draft.user_commands[username]
        ):
            continue
        if not _in_groups(actual, username, patterns):
            continue
        login = last_login(current.last_login)
        reason = _why(login, cutoff, settings.inactive_days, settings.include_never_logged_in)
        if reason is not None:
            draft.add(draft.factory.user(DeactivateUser, username, reason=reason), subject=subject)
