"""Properties of planning under generated rules (filters, names, mapping, correlation).

A plan applied and planned again is empty; administrators and protected users are never
touched; every command carries a reason; conflicting IdP users are never applied.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from reconciler_support import DIRECTORY, ISSUED, RUN, links_of

from roster.reconciler.core.apply import apply
from roster.reconciler.core.desired import build_desired
from roster.reconciler.core.planned import Planned, plan_with_rules
from roster.reconciler.core.policy import Policy
from roster.reconciler.core.rules import PlanRules
from roster.reconciler.core.state import ActualState, IdpSnapshot, Owner
from roster.shared.config import DirectorySettings
from roster.shared.messages.directory import IdpGroup, IdpUser
from roster.shared.messages.state import ConfluenceUser

LOGINS = ["ada", "Ada@corp.example", "bob", "carl", "boss", "dora@x.io", "eve"]
EMAILS = [None, "a@x.io", "b@y.io", "boss@x.io", "c@x.io"]
SUBJECTS = [f"s{i}" for i in range(7)]
GROUPS = ["Eng", "Ops", "Staff", "Eng Backend"]
USERNAMES = ["ada", "bob", "carl", "boss", "dora", "gus"]
EXPRESSIONS = [
    None,
    {"expr": "join([given_name, family_name], ' ')", "when_empty": "keep-raw"},
    {"expr": "attributes.nick", "when_empty": "skip"},
    {"expr": "first_non_empty([attributes.nick, login])", "when_empty": "clear"},
]


@st.composite
def snapshots(draw: st.DrawFn) -> IdpSnapshot:
    subjects = draw(st.lists(st.sampled_from(SUBJECTS), unique=True, max_size=6))
    users = tuple(
        IdpUser(
            subject=s,
            login=draw(st.sampled_from(LOGINS)),
            email=draw(st.sampled_from(EMAILS)),
            given_name=draw(st.sampled_from(["", "Ada", "Bo"])),
            family_name=draw(st.sampled_from(["", "Lee"])),
            active=draw(st.booleans()),
            attributes={"nick": draw(st.sampled_from(["", "Nick"]))},
        )
        for s in subjects
    )
    names = draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=4))
    groups = tuple(
        IdpGroup(id=f"g{i}", name=n, parent_id=draw(st.sampled_from([None, "g0"])) if i else None)
        for i, n in enumerate(names)
    )
    members = {g.id: frozenset(draw(st.lists(st.sampled_from(SUBJECTS), unique=True)))
               for g in groups}  # fmt: skip
    return IdpSnapshot(users=users, groups=groups, members=members)


@st.composite
def directories(draw: st.DrawFn) -> DirectorySettings:
    attributes = {"display_name": draw(st.sampled_from(EXPRESSIONS))}
    if draw(st.booleans()):
        attributes["username"] = {"expr": "lower(strip_domain(login))"}
    return DirectorySettings(
        id=DIRECTORY,
        kind="ldap",
        default_groups=draw(st.sampled_from([[], ["confluence-users"], ["all"]])),
        groups={
            "required": draw(st.sampled_from([[], ["Staff"], ["re:eng.*"]])),
            "exclude": draw(st.sampled_from([[], ["Ops"]])),
            "flatten_nested": draw(st.booleans()),
            "names": {
                "case": draw(st.sampled_from(["lower", "kebab"])),
                "prefix": draw(st.sampled_from(["", "idp-"])),
            },
        },  # fmt: skip
        attributes={k: v for k, v in attributes.items() if v is not None},
        correlate_by=draw(st.sampled_from(["username", "email"])),
    )


@st.composite
def confluence(draw: st.DrawFn) -> ActualState:
    names = draw(st.lists(st.sampled_from(USERNAMES), unique=True))
    users = [
        ConfluenceUser(
            username=u,
            display_name=draw(st.sampled_from(["", "Ada", u])),
            email=draw(st.sampled_from(EMAILS)),
            active=draw(st.booleans()),
        )
        for u in names
    ]
    owners = {u: Owner(DIRECTORY, f"old-{u}") for u in names if draw(st.booleans())}
    admins = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    return ActualState.of(
        users=users,
        groups=["confluence-administrators", "confluence-users", "eng"],
        members={"confluence-administrators": admins},
        owners=owners,
    )


POLICY = Policy(directory=DIRECTORY, protected_users=frozenset({"admin", "gus"}),
                protected_groups=frozenset({"confluence-administrators"}))  # fmt: skip


def _plan(snap: IdpSnapshot, settings_: DirectorySettings, actual: ActualState,
          rules: PlanRules, run: str) -> Planned:  # fmt: skip
    desired = build_desired(snap, settings_, links_of(actual))
    return plan_with_rules(desired, actual, POLICY, rules, run_id=run, issued_at=ISSUED)


@settings(max_examples=300, deadline=None)
@given(snapshots(), directories(), confluence(), st.sampled_from([None, 7]))
def test_rules_converge_and_never_touch_administrators(
    snap: IdpSnapshot, settings_: DirectorySettings, actual: ActualState, grace: int | None
) -> None:
    rules = PlanRules(correlate_by=settings_.correlate_by, delete_after_days=grace)
    first = _plan(snap, settings_, actual, rules, RUN)
    admins = actual.members_of("confluence-administrators")
    for command in first.plan.commands:
        assert command.reason, command
        username = getattr(command, "username", None)
        assert username not in admins
        assert username not in POLICY.protected_users
    conflicted = {e.subject for e in first.plan.explanations if e.outcome == "conflict"}
    assert not conflicted & {link.subject for link in first.plan.links}
    after = apply(first.plan, actual)
    marks = first.marks
    later = PlanRules(
        correlate_by=rules.correlate_by,
        delete_after_days=grace,
        deprovisioned_at={u: ISSUED for u in marks.deprovisioned | marks.deprovisioned_if_missing},
    )
    second = _plan(snap, settings_, after, later, "run-2")
    assert second.plan.commands == (), [c.reason for c in second.plan.commands]
    assert second.plan.links == ()
    if grace:  # once the grace period is over, the deactivated leavers are deleted
        done = PlanRules(correlate_by=rules.correlate_by, delete_after_days=grace,
                         deprovisioned_at={u: ISSUED - timedelta(days=grace)
                                           for u in later.deprovisioned_at})  # fmt: skip
        third = _plan(snap, settings_, after, done, "run-3")
        assert {c.type for c in third.plan.commands} <= {"DeleteUser"}
