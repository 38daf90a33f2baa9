"""Group rules: patterns, include/exclude, name mapping, flattening, required-group scope."""

from __future__ import annotations

from typing import Any

import pytest
from reconciler_support import directory, idp, linked, make_plan, ops, reasons

from roster.reconciler.core.desired import build_desired
from roster.reconciler.core.filters import Patterns, effective_members, map_group_name
from roster.reconciler.core.state import ActualState, IdpSnapshot
from roster.shared.messages.directory import IdpGroup
from roster.shared.messages.state import ConfluenceUser
from roster.shared.settings.rules import GroupNames


@pytest.mark.parametrize(
    ("patterns", "name", "expected"),
    [
        (["staff"], "Staff", True),
        (["staff"], "staff-2", False),
        (["re:eng-.*"], "ENG-backend", True),
        (["re:eng"], "eng-backend", False),  # a regex matches the whole name
        (["ops", "re:^team-\\d+$"], "team-42", True),
        ([], "anything", False),
    ],
)
def test_patterns_match_names_case_insensitively_and_regexes_in_full(
    patterns: list[str], name: str, expected: bool
) -> None:
    assert Patterns.of(patterns).matches(name) is expected


@pytest.mark.parametrize(
    ("names", "idp_name", "expected"),
    [
        ({}, "Engineering", "engineering"),
        ({"map": {"ENGINEERING": "wiki-eng"}}, "engineering", "wiki-eng"),
        ({"map": {"x": "y"}, "prefix": "idp-"}, "Ops", "idp-ops"),
        ({"suffix": "-users"}, "Ops", "ops-users"),
        ({"case": "kebab"}, "Data  Science_Team", "data-science-team"),
        ({"case": "snake"}, "Data Science-Team", "data_science_team"),
        ({"rewrite": [{"pattern": "^grp_(.*)$", "replace": "\\1"}]}, "GRP_Sales", "sales"),
        (
            {"rewrite": [{"pattern": "^/", "replace": ""}, {"pattern": "/", "replace": "."}],
             "prefix": "kc."},
            "/org/eng",
            "kc.org.eng",
        ),
        ({"rewrite": [{"pattern": ".*", "replace": ""}]}, "gone", ""),
        ({"map": {"staff": "Everyone"}, "prefix": "p-"}, "Staff", "everyone"),  # map wins
    ],
)  # fmt: skip
def test_group_names_map_rewrite_case_prefix_suffix(
    names: dict[str, Any], idp_name: str, expected: str
) -> None:
    assert map_group_name(idp_name, GroupNames(**names)) == expected


def _tree() -> IdpSnapshot:
    groups = (
        IdpGroup(id="root", name="Org"),
        IdpGroup(id="eng", name="Eng", parent_id="root"),
        IdpGroup(id="be", name="Backend", parent_id="eng"),
        IdpGroup(id="loop-a", name="A", parent_id="loop-b"),
        IdpGroup(id="loop-b", name="B", parent_id="loop-a"),
    )
    members = {
        "root": frozenset({"s-boss"}),
        "eng": frozenset({"s-eve"}),
        "be": frozenset({"s-bob"}),
        "loop-a": frozenset({"s-x"}),
        "loop-b": frozenset(),
    }
    users = tuple(idp(n) for n in ("boss", "eve", "bob", "x"))
    return IdpSnapshot(users=users, groups=groups, members=members)


@pytest.mark.parametrize(
    ("flatten", "expected"),
    [
        (False, {"root": {"s-boss"}, "eng": {"s-eve"}, "be": {"s-bob"},
                 "loop-a": {"s-x"}, "loop-b": set()}),
        (True, {"root": {"s-boss", "s-eve", "s-bob"}, "eng": {"s-eve", "s-bob"},
                "be": {"s-bob"}, "loop-a": {"s-x"}, "loop-b": {"s-x"}}),
    ],
)  # fmt: skip
def test_flattening_adds_child_members_to_every_ancestor_and_survives_cycles(
    flatten: bool, expected: dict[str, set[str]]
) -> None:
    members = effective_members(_tree(), flatten=flatten)
    assert {g: set(s) for g, s in members.items()} == expected


def test_flattened_groups_become_confluence_memberships() -> None:
    settings = directory(groups={"flatten_nested": True, "exclude": ["A", "B"]})
    desired = build_desired(_tree(), settings, {})
    assert {n: set(g.members) for n, g in desired.groups.items()} == {
        "org": {"boss", "eve", "bob"},
        "eng": {"eve", "bob"},
        "backend": {"bob"},
    }


@pytest.mark.parametrize(
    ("rules", "groups"),
    [
        ({}, {"org", "eng", "backend", "a", "b"}),
        ({"include": ["re:e.*", "Org"]}, {"org", "eng"}),
        ({"include": ["re:.*"], "exclude": ["eng"]}, {"org", "backend", "a", "b"}),
        ({"exclude": ["re:[ab]"]}, {"org", "eng", "backend"}),
    ],
)
def test_include_and_exclude_decide_which_idp_groups_are_mapped(
    rules: dict[str, Any], groups: set[str]
) -> None:
    desired = build_desired(_tree(), directory(groups=rules), {})
    assert set(desired.groups) == groups


@pytest.mark.parametrize(
    ("rules", "in_scope"),
    [
        ({}, {"boss", "eve", "bob", "x"}),
        ({"required": ["Eng"]}, {"eve"}),
        ({"required": ["Eng"], "flatten_nested": True}, {"eve", "bob"}),
        ({"required": ["re:(org|a)"]}, {"boss", "x"}),
        ({"required": ["nobody"]}, set()),
    ],
)
def test_required_groups_decide_who_is_in_scope(rules: dict[str, Any], in_scope: set[str]) -> None:
    desired = build_desired(_tree(), directory(groups=rules), {})
    assert set(desired.users) == in_scope


def test_a_linked_user_out_of_required_groups_is_deprovisioned_with_the_rule() -> None:
    settings = directory(groups={"required": ["staff"]})
    snap = IdpSnapshot(
        users=(idp("ada"), idp("bob")),
        groups=(IdpGroup(id="g-staff", name="Staff"),),
        members={"g-staff": frozenset({"s-ada"})},
    )
    desired = build_desired(snap, settings, {"s-ada": "ada", "s-bob": "bob"})
    actual = ActualState.of(
        users=[ConfluenceUser(username=u, display_name=u.title(), email=f"{u}@example.com")
               for u in ("ada", "bob", "carl")],
        owners=linked("ada", "bob"),
    )  # fmt: skip
    result = make_plan(desired, actual)
    assert ops(result) == [
        ("CreateGroup", "staff"),
        ("AddMembership", "ada -> staff"),
        ("DeactivateUser", "bob"),
    ]
    assert reasons(result)["DeactivateUser bob"] == "deactivated: not in required group 'staff'"
    assert "carl" not in {c.key for c in result.commands}  # unlinked, out of every scope
