"""Which deactivation times to record after a plan (grace period and cleanup).

A deprovisioning deactivation starts the grace clock (overwritten, so a rejected plan's
stale time never shortens a later grace period); a linked user found deactivated without
a time starts it now; cleanup deactivations are kept apart (syncs do not reactivate them);
reactivation, deletion, or the account being active again clears both.
"""

from __future__ import annotations

from dataclasses import dataclass

from roster.reconciler.core.cleanup import CLEANUP_TAG
from roster.reconciler.core.plan import Plan
from roster.reconciler.core.rules import PlanRules
from roster.reconciler.core.state import ActualState


@dataclass(frozen=True)
class Marks:
    deprovisioned: frozenset[str] = frozenset()
    """Set to now (overwrite)."""
    deprovisioned_if_missing: frozenset[str] = frozenset()
    """Set to now unless already set."""
    cleaned: frozenset[str] = frozenset()
    clear: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.deprovisioned or self.deprovisioned_if_missing or self.cleaned
                    or self.clear)  # fmt: skip


def marks_of(plan: Plan, actual: ActualState, rules: PlanRules) -> Marks:
    deprovisioned: set[str] = set()
    cleaned: set[str] = set()
    clear: set[str] = set()
    touched: set[str] = set()
    for command in plan.commands:
        username = getattr(command, "username", None)
        if username is None:
            continue
        touched.add(username)
        if command.type == "DeactivateUser":
            (cleaned if command.reason.endswith(CLEANUP_TAG) else deprovisioned).add(username)
        elif command.type in ("ReactivateUser", "DeleteUser"):
            clear.add(username)
    known = set(rules.deprovisioned_at) | set(rules.cleaned_up)
    for username in known - touched:
        current = actual.users.get(username)
        if current is None or current.active:  # gone, or an admin reactivated it
            clear.add(username)
    missing = {
        username
        for username in actual.linked(plan.directory)
        if username not in touched | known
        and (current := actual.users.get(username)) is not None
        and not current.active
    }
    return Marks(frozenset(deprovisioned), frozenset(missing), frozenset(cleaned),
                 frozenset(clear))  # fmt: skip
