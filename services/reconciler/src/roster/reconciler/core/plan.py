"""`plan(desired, actual, policy)`: the smallest set of commands that makes Confluence desired.

Like a diff, the plan is an immutable value: ordered commands, a summary of counts, one
explanation per user, and the links to record. The rules per resource kind live in
`users` and `memberships`; this module only orders, counts and freezes what they decide.
It publishes nothing and records nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from roster.reconciler.core.commands import CommandFactory
from roster.reconciler.core.correlation import correlate
from roster.reconciler.core.desired import DesiredState
from roster.reconciler.core.draft import Draft, Explanation
from roster.reconciler.core.memberships import group_scope, plan_groups
from roster.reconciler.core.policy import Policy
from roster.reconciler.core.rules import PlanRules
from roster.reconciler.core.state import ActualState, NewLink
from roster.reconciler.core.users import Context, plan_users
from roster.shared.messages.commands import WriteCommand
from roster.shared.messages.runs import PlanSummary

_PHASE = {
    "CreateUser": 0,
    "ReactivateUser": 1,
    "UpdateUser": 2,
    "AddMembership": 3,
    "RemoveMembership": 4,
    "DeactivateUser": 5,
    "DeleteUser": 6,
}
_SUMMARY_FIELD = {
    "CreateUser": "create_users",
    "UpdateUser": "update_users",
    "DeactivateUser": "deactivate_users",
    "ReactivateUser": "reactivate_users",
    "DeleteUser": "delete_users",
    "CreateGroup": "create_groups",
    "DeleteGroup": "delete_groups",
    "AddMembership": "add_memberships",
    "RemoveMembership": "remove_memberships",
}
CONFLICT_OUTCOMES = frozenset({"skipped", "conflict"})


@dataclass(frozen=True)
class Plan:
    run_id: str
    directory: str
    commands: tuple[WriteCommand, ...]
    """Group creations first, then per username (sorted): create, reactivate, update,
    memberships, deactivate/delete; so each key's commands arrive in a workable order."""
    summary: PlanSummary
    explanations: tuple[Explanation, ...]
    links: tuple[NewLink, ...]
    """Links to record before the commands are published (adopted and created users)."""
    notes: tuple[str, ...] = ()
    """Run-level remarks, e.g. IdP groups that map to protected groups."""

    @property
    def empty(self) -> bool:
        return not self.commands and not self.links


def plan(
    desired: DesiredState,
    actual: ActualState,
    policy: Policy,
    *,
    run_id: str,
    issued_at: datetime,
    rules: PlanRules | None = None,
) -> Plan:
    """`rules`: correlation, administrators, precedence, grace and cleanup (`core.rules`)."""
    rules = rules or PlanRules()
    desired = correlate(desired, actual, rules)
    draft = Draft(CommandFactory(run_id, policy.directory, issued_at))
    scope = group_scope(desired, actual, policy, draft)
    plan_groups(draft, scope, actual)
    plan_users(draft, Context(desired, actual, policy, scope, rules, issued_at))
    explanations = draft.explanations()
    commands = _ordered(draft)
    return Plan(
        run_id=run_id,
        directory=policy.directory,
        commands=commands,
        summary=summarise(commands, explanations),
        explanations=explanations,
        links=tuple(sorted(draft.links, key=lambda link: link.username)),
        notes=tuple(draft.notes),
    )


def _ordered(draft: Draft) -> tuple[WriteCommand, ...]:
    groups = sorted(draft.group_commands, key=lambda c: c.key)
    users: list[WriteCommand] = []
    for username in sorted(draft.user_commands):
        users += sorted(
            draft.user_commands[username],
            key=lambda c: (_PHASE[c.type], getattr(c, "group", "")),
        )
    return (*groups, *users)


def summarise(commands: Iterable[WriteCommand], explanations: Iterable[Explanation]) -> PlanSummary:
    counts = Counter(_SUMMARY_FIELD[c.type] for c in commands)
    outcomes = Counter(e.outcome for e in explanations)
    return PlanSummary(
        **counts,
        unchanged_users=outcomes["unchanged"],
        conflicts=sum(outcomes[o] for o in CONFLICT_OUTCOMES),
    )
