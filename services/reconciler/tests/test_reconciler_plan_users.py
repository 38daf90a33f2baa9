"""User rules of the planner, one table row per rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from reconciler_support import ISSUED, RUN, cf, desired_of, idp, linked, make_plan, ops, policy

from roster.reconciler.core.state import ActualState, NewLink, Owner
from roster.shared.ids import command_id
from roster.shared.messages.commands import CreateUser, UpdateUser


@dataclass
class Case:
    id: str
    idp: list[Any]
    confluence: list[Any]
    owners: dict[str, Owner] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    commands: list[tuple[str, str, str]] = field(default_factory=list)
    """(operation, target, reason)"""
    links: list[tuple[str, str]] = field(default_factory=list)
    outcome: str | None = "unchanged"
    """Outcome in ada's explanation; None: ada has none (not this directory's business)."""


CASES = [
    Case(
        "create missing user",
        [idp("ada")],
        [],
        commands=[("CreateUser", "ada", "created: new in IdP")],
        links=[("s-ada", "ada")],
        outcome="created",
    ),
    Case("unchanged linked user", [idp("ada")], [cf("ada")], linked("ada")),
    Case(
        "adopt an existing unlinked user, no update needed",
        [idp("ada")],
        [cf("ada")],
        links=[("s-ada", "ada")],
    ),
    Case(
        "adopt and update",
        [idp("ada", display_name="Ada L")],
        [cf("ada", display_name="Ada")],
        commands=[("UpdateUser", "ada", "updated: display name 'Ada' → 'Ada L'")],
        links=[("s-ada", "ada")],
        outcome="updated",
    ),
    Case(
        "update email, compared case-insensitively",
        [idp("ada", email="ada@new.example"), idp("bob", email="Bob@Example.com")],
        [cf("ada", email="ADA@old.example"), cf("bob", email="BOB@example.COM")],
        linked("ada", "bob"),
        commands=[("UpdateUser", "ada", "updated: email 'ADA@old.example' → 'ada@new.example'")],
        outcome="updated",
    ),
    Case(
        "update an empty Confluence email",
        [idp("ada")],
        [cf("ada", email="")],
        linked("ada"),
        commands=[("UpdateUser", "ada", "updated: email '' → 'ada@example.com'")],
        outcome="updated",
    ),
    Case(
        "an email the writer did not read is not a change",
        [idp("ada", email="new@example.com")],
        [cf("ada", email=None)],
        linked("ada"),
    ),
    Case(
        "a display name change carries the desired email along",
        [idp("ada", display_name="Ada L")],
        [cf("ada", email=None)],
        linked("ada"),
        commands=[("UpdateUser", "ada", "updated: display name 'Ada' → 'Ada L'")],
        outcome="updated",
    ),
    Case(
        "reactivate a linked user active again in the IdP",
        [idp("ada")],
        [cf("ada", active=False)],
        linked("ada"),
        commands=[("ReactivateUser", "ada", "reactivated: active in IdP")],
        outcome="reactivated",
    ),
    Case(
        "reactivate a matching unlinked user and adopt it",
        [idp("ada")],
        [cf("ada", active=False)],
        commands=[("ReactivateUser", "ada", "reactivated: active in IdP")],
        links=[("s-ada", "ada")],
        outcome="reactivated",
    ),
    Case(
        "deactivate a linked user removed from the IdP",
        [],
        [cf("ada")],
        linked("ada"),
        commands=[("DeactivateUser", "ada", "deactivated: removed from IdP")],
        outcome="deactivated",
    ),
    Case(
        "deactivate a linked user inactive in the IdP",
        [idp("ada", active=False)],
        [cf("ada")],
        linked("ada"),
        commands=[("DeactivateUser", "ada", "deactivated: inactive in IdP")],
        outcome="deactivated",
    ),
    Case("already deactivated", [], [cf("ada", active=False)], linked("ada")),
    Case("linked user gone from Confluence", [], [], linked("ada")),
    Case(
        "policy none keeps the account",
        [],
        [cf("ada")],
        linked("ada"),
        rules={"deprovision": "none"},
    ),
    Case(
        "policy delete",
        [idp("ada", active=False)],
        [cf("ada", active=False)],
        linked("ada"),
        rules={"deprovision": "delete"},
        commands=[("DeleteUser", "ada", "deleted: inactive in IdP")],
        outcome="deleted",
    ),
    Case(
        "never touch an unlinked user that is not desired",
        [idp("bob")],
        [cf("ada"), cf("bob")],
        linked("bob"),
        outcome=None,
    ),
    Case(
        "an inactive IdP user is neither created nor adopted",
        [idp("ada", active=False), idp("bob", active=False)],
        [cf("bob")],
        outcome="ignored",
    ),
    Case(
        "never touch a protected user, even when desired or linked",
        [idp("Admin", display_name="Someone Else")],
        [cf("admin", display_name="Admin"), cf("root")],
        linked("root") | linked("admin"),
        rules={"protected_users": frozenset({"admin", "root"})},
        outcome="conflict",
    ),
    Case(
        "a username linked to another directory is a conflict",
        [idp("ada", display_name="Other")],
        [cf("ada")],
        linked("ada", directory="okta"),
        outcome="conflict",
    ),
    Case(
        "a linked user skipped for a missing email is held as it is",
        [idp("ada", email=None)],
        [cf("ada")],
        linked("ada"),
        outcome="skipped",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_user_rule(case: Case) -> None:
    actual = ActualState.of(users=case.confluence, owners=case.owners)
    links = {o.subject: u for u, o in case.owners.items() if o.directory == "kc"}
    result = make_plan(desired_of(case.idp, links=links), actual, policy(**case.rules))
    assert [(c.type, c.target, c.reason) for c in result.commands] == case.commands
    assert result.links == tuple(NewLink(s, u) for s, u in case.links)
    outcomes = {e.outcome for e in result.explanations if e.username == "ada"}
    if case.id.startswith("never touch a protected"):
        outcomes = {e.outcome for e in result.explanations if e.username == "admin"}
    assert outcomes == ({case.outcome} if case.outcome else set())


def test_explanations_say_why_nothing_happened() -> None:
    actual = ActualState.of(users=[cf("ada"), cf("bob", active=False)], owners=linked("bob"))
    rules = policy(deprovision="none")
    result = make_plan(desired_of([idp("ada"), idp("carl", email=None)]), actual, rules)
    by_name = {(e.username, e.subject): (e.outcome, e.reasons) for e in result.explanations}
    assert by_name == {
        ("ada", "s-ada"): (
            "unchanged",
            ("adopted: existing Confluence user with the same username",),
        ),
        ("bob", "s-bob"): ("unchanged", ("kept: removed from IdP (deprovision policy 'none')",)),
        (None, "s-carl"): (
            "skipped",
            ("skipped: no email in IdP (Confluence requires one)",),
        ),
    }
    assert (result.summary.unchanged_users, result.summary.conflicts) == (2, 1)


def test_create_user_carries_the_desired_values_and_a_deterministic_id() -> None:
    user = idp("Ada", given_name="Ada", family_name="L", display_name=None, email="A@X.io")
    result = make_plan(desired_of([user]), ActualState())
    (command,) = result.commands
    assert isinstance(command, CreateUser)
    desired = {"display_name": "Ada L", "email": "a@x.io", "subject": "s-ada"}
    assert command.model_dump(include={"display_name", "email", "subject"}) == desired
    assert command.command_id == command_id(RUN, "CreateUser", "ada", desired)
    assert command.message_id == command.command_id
    assert (command.run_id, command.directory, command.occurred_at) == (RUN, "kc", ISSUED)
    assert command.key == "ada"


def test_the_same_decision_in_another_run_has_another_id() -> None:
    actual = ActualState.of(users=[cf("ada", display_name="Old")], owners=linked("ada"))
    desired = desired_of([idp("ada")], links={"s-ada": "ada"})
    first = make_plan(desired, actual)
    again = make_plan(desired, actual)
    other = desired_of([idp("ada", display_name="Newer")], links={"s-ada": "ada"})
    assert first == again
    (update,) = first.commands
    assert isinstance(update, UpdateUser)
    assert update.command_id != make_plan(other, actual).commands[0].command_id


def test_remove_groups_only_strips_managed_groups_but_not_default_or_unmanaged_ones() -> None:
    actual = ActualState.of(
        users=[cf("ada")],
        groups=["eng", "ops", "staff", "wiki-editors"],
        members={"eng": ["ada"], "ops": ["ada"], "staff": ["ada"], "wiki-editors": ["ada"]},
        owners=linked("ada"),
    )
    desired = desired_of([], {"Eng": [], "Ops": []}, default_groups=["staff"])
    result = make_plan(desired, actual, policy(deprovision="remove-groups-only"))
    why = "removed: removed from IdP (deprovision policy 'remove-groups-only')"
    assert [(c.type, c.target, c.reason) for c in result.commands] == [
        ("RemoveMembership", "ada -> eng", why),
        ("RemoveMembership", "ada -> ops", why),
    ]
    assert result.summary.remove_memberships == 2


def test_deactivate_keeps_memberships_for_a_later_reactivation() -> None:
    actual = ActualState.of(
        users=[cf("ada")], groups=["eng"], members={"eng": ["ada"]}, owners=linked("ada")
    )
    result = make_plan(desired_of([], {"Eng": []}), actual)
    assert ops(result) == [("DeactivateUser", "ada")]
