"""A plan with the rule state the planner stores after it: claims and deactivation marks.

One pure call for the planner's worker thread: correlate, plan, then derive this
directory's claims (for other directories' precedence) and the grace/cleanup marks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from roster.reconciler.core.claims import claims_of
from roster.reconciler.core.cleanup import CLEANUP_TAG
from roster.reconciler.core.correlation import correlate
from roster.reconciler.core.desired import DesiredState
from roster.reconciler.core.grace import Marks, marks_of
from roster.reconciler.core.plan import Plan, plan, summarise
from roster.reconciler.core.policy import Policy
from roster.reconciler.core.rules import Claim, PlanRules
from roster.reconciler.core.state import ActualState

CLEANUP_TRIGGER = "cleanup"
"""`SyncRequested.trigger` of a run that only applies inactivity cleanup."""


@dataclass(frozen=True)
class Planned:
    plan: Plan
    claims: dict[str, Claim] | None
    """None: leave the stored claims as they are (a cleanup-only run)."""
    marks: Marks


def plan_with_rules(
    desired: DesiredState,
    actual: ActualState,
    policy: Policy,
    rules: PlanRules,
    *,
    run_id: str,
    issued_at: datetime,
) -> Planned:
    result = plan(desired, actual, policy, run_id=run_id, issued_at=issued_at, rules=rules)
    conflicts = {e.username for e in result.explanations if e.outcome == "conflict"}
    claims = {
        username: claim
        for username, claim in claims_of(correlate(desired, actual, rules)).items()
        if username not in conflicts
    }
    return Planned(result, claims, marks_of(result, actual, rules))


def cleanup_only(planned: Planned, actual: ActualState, rules: PlanRules) -> Planned:
    """A `cleanup` run: only the inactivity-cleanup deactivations, no links, no claims."""
    kept = tuple(c for c in planned.plan.commands if c.reason.endswith(CLEANUP_TAG))
    users = {getattr(c, "username", None) for c in kept}
    explanations = tuple(e for e in planned.plan.explanations if e.username in users)
    result = replace(
        planned.plan,
        commands=kept,
        explanations=explanations,
        links=(),
        summary=summarise(kept, explanations),
    )
    return Planned(result, None, marks_of(result, actual, rules))
