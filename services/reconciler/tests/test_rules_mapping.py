"""Attribute mapping: CEL expressions, helpers, empty-value policies, error messages."""

from __future__ import annotations

from typing import Any

import pytest
from reconciler_support import cf, directory, idp, linked, make_plan, ops, snapshot

from roster.reconciler.core.desired import DesiredUser, SkippedUser, build_desired, desired_user
from roster.reconciler.core.mapping import compile_mapping, guest_address
from roster.reconciler.core.ruleset import check_rules
from roster.reconciler.core.state import ActualState
from roster.shared.errors import ConfigurationError
from roster.shared.messages.directory import IdpUser
from roster.shared.settings.rules import AttributeMapping

JANE = IdpUser(
    subject="s-1",
    login="Jane.Doe@Corp.example",
    email="JANE.DOE@corp.example",
    given_name="Jane",
    family_name="Doe",
    display_name="",
    attributes={"employeeId": "E-042", "upn": "jane_partner.example#EXT#@corp.onmicrosoft.com",
                "nick": "", "mails": ["", "j@alt.example"]},
)  # fmt: skip


def _eval(expr: str, user: IdpUser = JANE, attribute: str = "display_name") -> str | None:
    mapping = compile_mapping("kc", AttributeMapping(**{attribute: {"expr": expr}}))
    return mapping.evaluate(attribute, user)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("lower(login)", "jane.doe@corp.example"),
        ("strip_domain(login)", "Jane.Doe"),
        ("lower(strip_domain(email))", "jane.doe"),
        ("guest_email(attributes.upn)", "jane@partner.example"),
        ("guest_email(email)", "JANE.DOE@corp.example"),  # not a guest: unchanged
        ("regex_replace(attributes.employeeId, '^E-0*', 'e')", "e42"),
        ("first_non_empty([attributes.nick, display_name, given_name])", "Jane"),
        ("first_non_empty(attributes.mails)", "j@alt.example"),
        ("join([given_name, attributes.nick, family_name], ' ')", "Jane Doe"),
        ("join([family_name, given_name], ', ')", "Doe, Jane"),
        ("given_name + ' ' + family_name + ' (' + attributes.employeeId + ')'", "Jane Doe (E-042)"),
        ("has(attributes.title) ? attributes.title : 'n/a'", "n/a"),
        ("login.lower()", "jane.doe@corp.example"),  # helpers also work as methods
        ("trim('  x  ')", "x"),
        ("active ? 'on' : 'off'", "on"),
        ("''", ""),
        ("null", ""),
    ],
)
def test_expressions_and_helpers(expr: str, expected: str) -> None:
    assert _eval(expr) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("john.smith_fabrikam.com#EXT#@contoso.onmicrosoft.com", "john.smith@fabrikam.com"),
        ("a_b_c.io#ext#@t.onmicrosoft.com", "a_b@c.io"),
        ("plain@example.com", "plain@example.com"),
        ("", ""),
    ],
)
def test_guest_addresses_become_real_ones(value: str, expected: str) -> None:
    assert guest_address(value) == expected


@pytest.mark.parametrize(
    ("attribute", "expr", "message"),
    [
        ("username", "login +", "directories[kc].attributes.username: invalid CEL expression"),
        ("email", "lowr(email)", "directories[kc].attributes.email: Undefined variable"),
        ("display_name", "nickname", "directories[kc].attributes.display_name: Undefined"),
    ],
)  # fmt: skip
def test_bad_expressions_fail_at_start_naming_directory_and_attribute(
    attribute: str, expr: str, message: str
) -> None:
    settings = directory(attributes={attribute: {"expr": expr}})
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_rules([settings])


def test_an_evaluation_error_skips_the_user_naming_directory_attribute_and_user() -> None:
    mapping = compile_mapping("kc", AttributeMapping(username={"expr": "attributes.missing"}))
    result = desired_user(JANE, None, mapping)
    assert isinstance(result, SkippedUser)
    assert result.reason.startswith(
        "skipped: mapping of 'username' failed in directory 'kc' for user 'Jane.Doe@Corp.example'"
    )


EMPTY = "attributes.nick"


@pytest.mark.parametrize(
    ("attribute", "policy", "expected"),
    [
        ("display_name", "keep-raw", {"display_name": "Jane Doe", "manage_display_name": True}),
        ("display_name", "skip", {"display_name": "Jane Doe", "manage_display_name": False}),
        ("display_name", "clear", {"display_name": "", "manage_display_name": True}),
        ("display_name", "leave-out", "skipped: mapping of 'display_name' gave no value"),
        ("email", "keep-raw", {"email": "jane.doe@corp.example", "manage_email": True}),
        ("email", "skip", {"email": "jane.doe@corp.example", "manage_email": False}),
        ("email", "clear", "skipped: no email in IdP"),
        ("username", "keep-raw", {"username": "jane.doe@corp.example"}),
        ("username", "leave-out", "skipped: mapping of 'username' gave no value"),
    ],
)
def test_empty_results_follow_the_attribute_policy(
    attribute: str, policy: str, expected: dict[str, Any] | str
) -> None:
    mapping = compile_mapping(
        "kc", AttributeMapping(**{attribute: {"expr": EMPTY, "when_empty": policy}})
    )
    result = desired_user(JANE, None, mapping)
    if isinstance(expected, str):
        assert isinstance(result, SkippedUser)
        assert result.reason.startswith(expected)
    else:
        assert isinstance(result, DesiredUser)
        assert {k: getattr(result, k) for k in expected} == expected


def test_a_skipped_attribute_keeps_the_confluence_value_and_a_mapped_one_updates() -> None:
    settings = directory(
        attributes={
            "display_name": {"expr": "attributes.nick", "when_empty": "skip"},
            "email": {"expr": "lower(first_non_empty([attributes.mail, email]))"},
        }
    )
    users = [
        idp("ada", attributes={"nick": "", "mail": "ADA@new.example"}),
        idp("bob", attributes={"nick": "Bobby", "mail": ""}),
    ]
    desired = build_desired(snapshot(users), settings, {"s-ada": "ada", "s-bob": "bob"})
    actual = ActualState.of(
        users=[cf("ada", display_name="Ada in Confluence"), cf("bob")], owners=linked("ada", "bob")
    )
    result = make_plan(desired, actual)
    assert ops(result) == [("UpdateUser", "ada"), ("UpdateUser", "bob")]
    ada, bob = result.commands
    assert (ada.display_name, ada.email) == ("Ada in Confluence", "ada@new.example")  # type: ignore[union-attr]
    assert (bob.display_name, bob.email) == ("Bobby", "bob@example.com")  # type: ignore[union-attr]


def test_a_mapped_username_links_and_a_later_rename_keeps_the_account() -> None:
    settings = directory(attributes={"username": {"expr": "lower(strip_domain(login))"}})
    first = build_desired(snapshot([idp("Ada@corp.example", subject="s-1")]), settings, {})
    assert list(first.users) == ["ada"]
    renamed = build_desired(
        snapshot([idp("Ada.Lovelace@corp.example", subject="s-1")]), settings, {"s-1": "ada"}
    )
    assert list(renamed.users) == ["ada"]
    assert renamed.users["ada"].login == "Ada.Lovelace@corp.example"
