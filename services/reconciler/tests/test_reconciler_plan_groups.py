"""Group and membership rules of the planner, ordering and the summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from reconciler_support import cf, desired_of, idp, linked, make_plan, ops, policy, reasons

from roster.reconciler.core.state import ActualState
from roster.shared.messages.runs import PlanSummary


@dataclass
class Case:
    id: str
    groups: dict[str, list[str]]
    existing: list[str]
    members: dict[str, list[str]]
    expected: list[tuple[str, str, str]]
    defaults: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


CASES = [
    Case(
        "create a missing IdP group and add its members",
        {"Eng": ["ada"]},
        [],
        {},
        [
            ("CreateGroup", "eng", "created: IdP group 'Eng'"),
            ("AddMembership", "ada -> eng", "added: member of IdP group 'Eng'"),
        ],
    ),
    Case(
        "an empty IdP group is still created",
        {"Ops": []},
        [],
        {},
        [
            ("CreateGroup", "ops", "created: IdP group 'Ops'"),
        ],
    ),
    Case("members in place: nothing", {"Eng": ["ada"]}, ["ENG"], {"Eng": ["Ada"]}, []),
    Case(
        "remove a member the IdP group no longer has",
        {"Eng": []},
        ["eng"],
        {"eng": ["ada"]},
        [("RemoveMembership", "ada -> eng", "removed: not a member of IdP group 'Eng'")],
    ),
    Case(
        "unmanaged groups are never changed",
        {},
        ["wiki-editors"],
        {"wiki-editors": ["ada"]},
        [],
    ),
    Case(
        "default groups: created when missing, add-only",
        {},
        [],
        {},
        [
            ("CreateGroup", "staff", "created: default group of directory 'kc'"),
            ("AddMembership", "ada -> staff", "added: default group of directory 'kc'"),
        ],
        defaults=["Staff"],
    ),
    Case(
        "a default group that is also an IdP group is never removed from",
        {"Staff": []},
        ["staff"],
        {"staff": ["ada"]},
        [],
        defaults=["staff"],
    ),
    Case(
        "a protected default group that exists gets members, nothing else",
        {},
        ["confluence-users"],
        {},
        [("AddMembership", "ada -> confluence-users", "added: default group of directory 'kc'")],
        defaults=["confluence-users"],
    ),
    Case(
        "a protected default group that is missing is never created",
        {},
        [],
        {},
        [],
        defaults=["confluence-users"],
        notes=[
            "default group 'confluence-users' is protected and missing in Confluence: "
            "not created, no members added"
        ],
    ),
    Case(
        "an IdP group named like a protected group is not managed",
        {"Confluence-Administrators": ["ada"]},
        ["confluence-administrators"],
        {"confluence-administrators": ["root"]},
        [],
        notes=[
            "IdP group 'Confluence-Administrators' maps to protected group "
            "'confluence-administrators': not managed"
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_group_rule(case: Case) -> None:
    actual = ActualState.of(
        users=[cf("ada")], groups=case.existing, members=case.members, owners=linked("ada")
    )
    desired = desired_of(
        [idp("ada")], case.groups, links={"s-ada": "ada"}, default_groups=case.defaults
    )
    result = make_plan(desired, actual)
    assert [(c.type, c.target, c.reason) for c in result.commands] == case.expected
    assert list(result.notes) == case.notes


def test_managed_groups_never_touch_unlinked_or_protected_members() -> None:
    actual = ActualState.of(
        users=[cf("ada"), cf("admin"), cf("manual"), cf("gone")],
        groups=["eng"],
        members={"eng": ["ada", "admin", "manual", "gone"]},
        owners=linked("ada", "gone"),
    )
    result = make_plan(desired_of([], {"Eng": ["admin"]}), actual, policy(deprovision="none"))
    assert ops(result) == []
    result = make_plan(desired_of([idp("ada")], {"Eng": []}, links={"s-ada": "ada"}), actual)
    assert ops(result) == [("RemoveMembership", "ada -> eng"), ("DeactivateUser", "gone")]


def test_order_group_creations_first_then_per_user_creation_before_memberships() -> None:
    actual = ActualState.of(
        users=[cf("bob", display_name="B", active=False), cf("old")],
        groups=["ops"],
        members={"ops": ["bob", "old"]},
        owners=linked("bob", "old"),
    )
    desired = desired_of(
        [idp("zed"), idp("bob"), idp("ada")],
        {"Eng": ["zed", "ada", "bob"], "Ops": ["ada"]},
        links={"s-bob": "bob", "s-old": "old"},
        default_groups=["all"],
    )
    result = make_plan(desired, actual)
    assert ops(result) == [
        ("CreateGroup", "all"),
        ("CreateGroup", "eng"),
        ("CreateUser", "ada"),
        ("AddMembership", "ada -> all"),
        ("AddMembership", "ada -> eng"),
        ("AddMembership", "ada -> ops"),
        ("ReactivateUser", "bob"),
        ("UpdateUser", "bob"),
        ("AddMembership", "bob -> all"),
        ("AddMembership", "bob -> eng"),
        ("RemoveMembership", "bob -> ops"),
        ("DeactivateUser", "old"),
        ("CreateUser", "zed"),
        ("AddMembership", "zed -> all"),
        ("AddMembership", "zed -> eng"),
    ]
    assert reasons(result)["UpdateUser bob"] == "updated: display name 'B' → 'Bob'"
    assert result.summary == PlanSummary(
        create_users=2,
        update_users=1,
        deactivate_users=1,
        reactivate_users=1,
        create_groups=2,
        add_memberships=7,
        remove_memberships=1,
    )
    assert result.summary.writes == len(result.commands)
    outcomes = {e.username: e.outcome for e in result.explanations}
    assert outcomes == {
        "ada": "created",
        "bob": "reactivated",
        "old": "deactivated",
        "zed": "created",
    }
    assert len({c.command_id for c in result.commands}) == len(result.commands)


@pytest.mark.parametrize("extra", [{}, {"deprovision": "delete"}])
def test_an_empty_snapshot_against_an_empty_confluence_plans_nothing(extra: dict[str, Any]) -> None:
    result = make_plan(desired_of(), ActualState(), policy(**extra))
    assert result.empty
    assert result.summary == PlanSummary()


def test_membership_planning_scales_with_memberships_not_users_times_groups() -> None:
    # 4,000 users in 4,000 groups, one each: O(users × groups) would be 16 million checks
    users = [idp(f"u{i}") for i in range(4_000)]
    groups = {f"G{i}": [f"u{i}"] for i in range(4_000)}
    actual = ActualState.of(groups=[f"g{i}" for i in range(4_000)])
    began = time.perf_counter()
    result = make_plan(desired_of(users, groups), actual)
    elapsed = time.perf_counter() - began
    assert result.summary.add_memberships == 4_000
    assert elapsed < 5, f"planning took {elapsed:.1f}s"
