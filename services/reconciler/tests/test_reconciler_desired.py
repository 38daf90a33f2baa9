"""Desired state from an IdP snapshot: usernames, names, e-mails, groups, skips."""

from __future__ import annotations

from typing import Any

import pytest
from reconciler_support import desired_of, idp

from roster.reconciler.core.desired import DesiredUser, SkippedUser, desired_user


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"display_name": "Ada Lovelace"}, "Ada Lovelace"),
        ({"display_name": "  Ada L.  "}, "Ada L."),
        ({"display_name": None, "given_name": "Ada", "family_name": "Lovelace"}, "Ada Lovelace"),
        ({"display_name": " ", "given_name": "Ada", "family_name": None}, "Ada"),
        ({"display_name": None, "given_name": None, "family_name": "Lovelace"}, "Lovelace"),
        ({"display_name": None, "given_name": " ", "family_name": ""}, "Ada.L"),
    ],
)
def test_display_name_falls_back_to_given_family_then_login(
    fields: dict[str, Any], expected: str
) -> None:
    user = desired_user(idp("Ada.L", **fields), None)
    assert isinstance(user, DesiredUser)
    assert user.display_name == expected


@pytest.mark.parametrize(
    ("login", "link", "expected"),
    [
        ("Ada.L", None, "ada.l"),
        ("ada@corp.example", None, "ada@corp.example"),
        ("Ada.Renamed", "ada.l", "ada.l"),  # an IdP rename keeps the linked account
    ],
)
def test_username_is_the_link_else_the_lower_case_login(
    login: str, link: str | None, expected: str
) -> None:
    user = desired_user(idp(login, subject="s-1"), link)
    assert isinstance(user, DesiredUser)
    assert (user.username, user.subject, user.login) == (expected, "s-1", login)


def test_email_is_lower_case_and_active_flag_is_kept() -> None:
    user = desired_user(idp("ada", email=" Ada@Example.COM ", active=False), None)
    assert isinstance(user, DesiredUser)
    assert (user.email, user.active) == ("ada@example.com", False)


@pytest.mark.parametrize(
    ("login", "fields", "link", "reason", "username"),
    [
        ("ada", {"email": None}, None, "skipped: no email in IdP (Confluence requires one)", None),
        (
            "ada",
            {"email": "  "},
            "ada",
            "skipped: no email in IdP (Confluence requires one)",
            "ada",
        ),
        ("ada lovelace", {}, None, "skipped: username 'ada lovelace' has characters", None),
        ("ada,l", {}, None, "skipped: username 'ada,l' has characters", None),
        ("Anonymous", {}, None, "skipped: username 'anonymous' is reserved in Confluence", None),
        ("  ", {}, None, "skipped: empty username", None),
    ],
)
def test_users_confluence_cannot_hold_are_skipped_with_the_reason(
    login: str, fields: dict[str, Any], link: str | None, reason: str, username: str | None
) -> None:
    result = desired_user(idp(login, subject="s-1", **fields), link)
    assert isinstance(result, SkippedUser)
    assert result.reason.startswith(reason)
    assert (result.subject, result.username) == ("s-1", username)


def test_an_inactive_user_without_email_is_kept_for_deprovisioning() -> None:
    user = desired_user(idp("ada", email=None, active=False), None)
    assert isinstance(user, DesiredUser)
    assert user.email == ""


def test_username_collisions_linked_wins_else_active_claimants_all_conflict() -> None:
    desired = desired_of(
        [
            idp("Bob", subject="s-b2"),
            idp("bob", subject="s-b1", active=False),
            idp("bob", subject="s-b3"),
            idp("carol", subject="s-c1"),
            idp("Carol.New", subject="s-c2"),  # renamed in the IdP, linked to "carol"
            idp("dave", subject="s-d1", active=False),
            idp("Dave", subject="s-d2"),
        ],
        links={"s-c2": "carol"},
    )
    assert {u: d.subject for u, d in desired.users.items()} == {"carol": "s-c2", "dave": "s-d2"}
    assert [(s.subject, s.outcome, s.reason) for s in desired.skipped] == [
        ("s-b1", "skipped", "skipped: IdP users 's-b2', 's-b3' map to username 'bob'"),
        ("s-b2", "conflict", "conflict: IdP users 's-b2', 's-b3' map to username 'bob': "
         "none is provisioned"),
        ("s-b3", "conflict", "conflict: IdP users 's-b2', 's-b3' map to username 'bob': "
         "none is provisioned"),
        ("s-c1", "skipped", "skipped: username 'carol' belongs to subject 's-c2'"),
        ("s-d1", "skipped", "skipped: username 'dave' belongs to subject 's-d2'"),
    ]  # fmt: skip


def test_a_linked_username_stays_reserved_after_its_subject_left_the_idp() -> None:
    desired = desired_of([idp("bob", subject="s-new")], links={"s-old": "bob"})
    assert desired.users == {}
    assert desired.skipped[0].reason == "skipped: username 'bob' belongs to subject 's-old'"


def test_groups_are_lower_cased_merged_and_hold_only_active_members() -> None:
    desired = desired_of(
        [idp("ada"), idp("bob", active=False), idp("carl", email=None)],
        {"Eng": ["ada", "bob", "carl", "ghost"], "eng": ["ada"], "Ops": [], " ": ["ada"]},
        default_groups=["Staff", "staff", "Everyone"],
    )
    assert set(desired.groups) == {"eng", "ops"}
    assert desired.groups["eng"].members == {"ada"}
    assert desired.groups["eng"].idp_name == "Eng"
    assert desired.groups["ops"].members == frozenset()
    assert desired.default_groups == ("staff", "everyone")
    assert [u.username for u in desired.active_users()] == ["ada"]
