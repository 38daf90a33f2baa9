"""Plan rules: email correlation, administrators, grace period, precedence, cleanup, marks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from reconciler_support import (
    DIRECTORY,
    ISSUED,
    RUN,
    cf,
    desired_of,
    idp,
    linked,
    ops,
    policy,
    reasons,
)

from roster.reconciler.core.cleanup import NO_LOGIN_DATA
from roster.reconciler.core.desired import DesiredState
from roster.reconciler.core.grace import marks_of
from roster.reconciler.core.plan import Plan, plan
from roster.reconciler.core.planned import cleanup_only, plan_with_rules
from roster.reconciler.core.rules import Claim, PlanRules
from roster.reconciler.core.state import ActualState, Owner
from roster.shared.settings.rules import CleanupSettings

DAY = timedelta(days=1)


def planned(desired: DesiredState, actual: ActualState, **rules: Any) -> Plan:
    deprovision = rules.pop("deprovision", "deactivate")
    return plan(
        desired,
        actual,
        policy(deprovision=deprovision),
        run_id=RUN,
        issued_at=ISSUED,
        rules=PlanRules(**rules),
    )


def outcomes(result: Plan) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {e.subject or "": (e.outcome, e.reasons) for e in result.explanations}


# --- correlation -------------------------------------------------------------------------


def test_email_correlation_adopts_the_account_with_the_same_email_and_links_it() -> None:
    desired = desired_of([idp("jdoe", email="Jane@Corp.example", display_name="Jane")])
    actual = ActualState.of(users=[cf("jane.doe", email="jane@corp.example", display_name="J")])
    result = planned(desired, actual, correlate_by="email")
    assert ops(result) == [("UpdateUser", "jane.doe")]
    assert [(link.subject, link.username) for link in result.links] == [("s-jdoe", "jane.doe")]
    assert (
        outcomes(result)["s-jdoe"][1][0] == "adopted: existing Confluence user with the same email"
    )
    by_username = planned(desired, actual)  # default: username, so a new account
    assert ops(by_username)[0] == ("CreateUser", "jdoe")


@pytest.mark.parametrize(
    ("users", "confluence"),
    [
        # two IdP users share one Confluence user's email
        ([idp("a", email="x@corp.example"), idp("b", email="x@corp.example")],
         [cf("x", email="x@corp.example")]),
        # one matches by email the account another one matches by username
        ([idp("a", email="x@corp.example"), idp("x", email="other@corp.example")],
         [cf("x", email="x@corp.example")]),
    ],
)  # fmt: skip
def test_two_idp_users_on_one_confluence_account_are_both_conflicts(
    users: list[Any], confluence: list[Any]
) -> None:
    result = planned(desired_of(users), ActualState.of(users=confluence), correlate_by="email")
    assert result.commands == ()
    assert result.links == ()
    assert [o for o, _ in outcomes(result).values()] == ["conflict", "conflict"]
    assert result.summary.conflicts == 2


def test_email_correlation_never_takes_a_linked_account() -> None:
    desired = desired_of([idp("new", email="x@corp.example")])
    actual = ActualState.of(
        users=[cf("x", email="x@corp.example")], owners={"x": Owner(DIRECTORY, "s-other")}
    )
    result = planned(desired, actual, correlate_by="email")
    assert ops(result)[0] == ("CreateUser", "new")


# --- administrators ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("admin_groups", "touched"),
    [(("confluence-administrators",), set()), ((), {"boss"})],
)
def test_confluence_administrators_are_never_changed(
    admin_groups: tuple[str, ...], touched: set[str]
) -> None:
    desired = desired_of([idp("boss", display_name="New Name")], links={"s-boss": "boss"})
    actual = ActualState.of(
        users=[cf("boss", display_name="Boss"), cf("old")],
        members={"confluence-administrators": ["boss", "old"]},
        owners=linked("boss", "old"),
    )
    result = planned(desired, actual, admin_groups=admin_groups)
    assert {c.key for c in result.commands} == touched | ({"old"} if touched else set())
    if not touched:
        reason = outcomes(result)["s-boss"][1][0]
        assert reason == (
            "conflict: 'boss' is a Confluence administrator (in 'confluence-administrators')"
        )


# --- grace period ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("active", "since", "expected", "reason"),
    [
        (True, None, "DeactivateUser", "deactivated: removed from IdP (deleted after 30 days)"),
        (False, ISSUED - 29 * DAY, None, "deactivated; deleted after 2025-01-03"),
        (False, ISSUED - 30 * DAY, "DeleteUser", "deleted: removed from IdP, deactivated since "
         "2024-12-03 (30-day grace period over)"),
        (False, None, None, "unchanged: removed from IdP, already deactivated"),
    ],
)  # fmt: skip
def test_grace_period_deactivates_now_and_deletes_after_n_days(
    active: bool, since: Any, expected: str | None, reason: str
) -> None:
    actual = ActualState.of(users=[cf("gone", active=active)], owners=linked("gone"))
    deprovisioned = {"gone": since} if since else {}
    result = planned(desired_of([]), actual, delete_after_days=30,
                     deprovisioned_at=deprovisioned)  # fmt: skip
    assert [c.type for c in result.commands] == ([expected] if expected else [])
    assert reason in " ".join(outcomes(result)["s-gone"][1])


def test_a_returning_user_is_reactivated_and_its_grace_mark_cleared() -> None:
    actual = ActualState.of(users=[cf("ada", active=False)], owners=linked("ada"))
    rules = PlanRules(delete_after_days=30, deprovisioned_at={"ada": ISSUED - 40 * DAY})
    result = plan(desired_of([idp("ada")], links={"s-ada": "ada"}), actual, policy(),
                  run_id=RUN, issued_at=ISSUED, rules=rules)  # fmt: skip
    assert ops(result) == [("ReactivateUser", "ada")]
    assert reasons(result)["ReactivateUser ada"] == "reactivated: active in IdP"
    assert marks_of(result, actual, rules).clear == {"ada"}


def test_marks_start_the_clock_for_deactivations_and_found_deactivated_users() -> None:
    actual = ActualState.of(
        users=[cf("a"), cf("b", active=False), cf("c", active=False), cf("d")],
        owners=linked("a", "b", "c", "d"),
    )
    rules = PlanRules(delete_after_days=5, deprovisioned_at={"c": ISSUED, "d": ISSUED})
    result = plan(desired_of([idp("d")], links={"s-d": "d"}), actual, policy(),
                  run_id=RUN, issued_at=ISSUED, rules=rules)  # fmt: skip
    marks = marks_of(result, actual, rules)
    assert marks.deprovisioned == {"a"}
    assert marks.deprovisioned_if_missing == {"b"}
    assert marks.clear == {"d"}  # active again (an admin reactivated it)


# --- several directories -----------------------------------------------------------------


def _shared(**claims: Claim) -> PlanRules:
    return PlanRules(precedence=("corp", DIRECTORY), claims={"corp": claims})


def test_the_first_directory_in_precedence_decides_attributes() -> None:
    desired = desired_of([idp("ada", display_name="Ada (kc)")])
    actual = ActualState.of(users=[cf("ada", display_name="Ada (kc)")],
                            owners={"ada": Owner("corp", "c-1")})  # fmt: skip
    claim = Claim("c-1", "Ada Lovelace", "ada@example.com", active=True)
    result = plan(desired, actual, policy(), run_id=RUN, issued_at=ISSUED, rules=_shared(ada=claim))
    assert ops(result) == [("UpdateUser", "ada")]
    assert result.commands[0].display_name == "Ada Lovelace"  # type: ignore[union-attr]
    assert result.links == ()  # the owner stays the other directory
    assert "attributes from directory 'corp' (directory precedence)" in outcomes(result)["s-ada"][1]


def test_an_inactive_claim_of_a_higher_directory_does_not_decide() -> None:
    desired = desired_of([idp("ada", display_name="Ada (kc)")])
    actual = ActualState.of(users=[cf("ada", display_name="Ada (kc)")],
                            owners={"ada": Owner("corp", "c-1")})  # fmt: skip
    claim = Claim("c-1", "Ada Lovelace", "ada@example.com", active=False)
    result = plan(desired, actual, policy(), run_id=RUN, issued_at=ISSUED, rules=_shared(ada=claim))
    assert result.commands == ()


def test_a_user_active_in_another_sharing_directory_is_never_deprovisioned() -> None:
    actual = ActualState.of(users=[cf("ada"), cf("bob")], owners=linked("ada", "bob"))
    rules = _shared(ada=Claim("c-1", "Ada", "ada@example.com", active=True),
                    bob=Claim("c-2", "Bob", "bob@example.com", active=False))  # fmt: skip
    result = plan(desired_of([]), actual, policy(), run_id=RUN, issued_at=ISSUED, rules=rules)
    assert ops(result) == [("DeactivateUser", "bob")]
    assert outcomes(result)["s-ada"][1] == (
        "kept: removed from IdP, still active in directory 'corp'",
    )


def test_without_shared_precedence_another_directory_s_user_is_a_conflict() -> None:
    desired = desired_of([idp("ada")])
    actual = ActualState.of(users=[cf("ada")], owners={"ada": Owner("corp", "c-1")})
    result = plan(desired, actual, policy(), run_id=RUN, issued_at=ISSUED, rules=PlanRules())
    assert result.commands == ()
    assert outcomes(result)["s-ada"][0] == "conflict"


def test_claims_leave_out_conflicts() -> None:
    desired = desired_of([idp("ada"), idp("x", email="a@corp.example"),
                          idp("y", email="a@corp.example")])  # fmt: skip
    actual = ActualState.of(users=[cf("a", email="a@corp.example")])
    result = plan_with_rules(desired, actual, policy(), PlanRules(correlate_by="email"),
                             run_id=RUN, issued_at=ISSUED)  # fmt: skip
    assert set(result.claims) == {"ada"}
    assert result.claims["ada"] == Claim("s-ada", "Ada", "ada@example.com", active=True)


# --- inactivity cleanup ------------------------------------------------------------------


def _logins(**days_ago: int | None) -> ActualState:
    users = [
        cf(name, last_login=None if ago is None else (ISSUED - ago * DAY).isoformat())
        for name, ago in days_ago.items()
    ]
    members = {"confluence-administrators": ["root"], "contractors": ["old", "never"]}
    return ActualState.of(users=users, owners=linked(*days_ago), members=members)


@pytest.mark.parametrize(
    ("cleanup", "deactivated"),
    [
        ({"inactive_days": 90}, {"old"}),
        ({"inactive_days": 90, "include_never_logged_in": True}, {"old", "never"}),
        ({"inactive_days": 10}, {"old", "recent"}),
        ({"inactive_days": 10, "groups": ["re:contract.*"]}, {"old"}),
        ({"inactive_days": 500}, set()),
    ],
)
def test_cleanup_deactivates_inactive_users_but_never_administrators(
    cleanup: dict[str, Any], deactivated: set[str]
) -> None:
    actual = _logins(old=200, recent=20, never=None, root=400)
    linked_desired = {f"s-{u}": u for u in ("old", "recent", "never", "root")}
    desired = desired_of([idp(u) for u in ("old", "recent", "never", "root")], links=linked_desired)
    result = planned(desired, actual, cleanup=CleanupSettings(**cleanup))
    assert {c.key for c in result.commands if c.type == "DeactivateUser"} == deactivated
    for command in result.commands:
        assert command.reason.endswith("(inactivity cleanup)")
    if "old" in deactivated:
        assert reasons(result)["DeactivateUser old"] == (
            f"deactivated: no login for {cleanup['inactive_days']} days (last 2024-06-16) "
            "(inactivity cleanup)"
        )


def test_cleanup_without_last_login_data_notes_it_and_does_nothing() -> None:
    actual = _logins(old=None, never=None)
    cleanup = CleanupSettings(inactive_days=1, include_never_logged_in=True)
    result = planned(desired_of([]), actual, deprovision="none", cleanup=cleanup)
    assert result.commands == ()
    assert NO_LOGIN_DATA in result.notes


def test_a_user_deactivated_by_cleanup_is_not_reactivated_by_syncs() -> None:
    actual = ActualState.of(users=[cf("old", active=False)], owners=linked("old"))
    desired = desired_of([idp("old")], links={"s-old": "old"})
    result = planned(desired, actual, cleaned_up={"old": ISSUED - DAY})
    assert result.commands == ()
    assert (
        "kept deactivated: deactivated by inactivity cleanup on 2025-01-01"
        in (outcomes(result)["s-old"][1])
    )
    fresh = planned(desired, actual)
    assert ops(fresh) == [("ReactivateUser", "old")]


def test_a_cleanup_run_keeps_only_the_cleanup_deactivations_and_no_claims() -> None:
    actual = _logins(old=200, recent=1, gone=300)
    desired = desired_of([idp("old"), idp("recent"), idp("new")],
                         links={"s-old": "old", "s-recent": "recent"})  # fmt: skip
    rules = PlanRules(cleanup=CleanupSettings(inactive_days=90))
    full = plan_with_rules(desired, actual, policy(), rules, run_id=RUN, issued_at=ISSUED)
    assert {(c.type, c.key) for c in full.plan.commands} >= {
        ("CreateUser", "new"), ("DeactivateUser", "gone"), ("DeactivateUser", "old")
    }  # fmt: skip
    only = cleanup_only(full, actual, rules)
    assert ops(only.plan) == [("DeactivateUser", "old")]
    assert only.plan.summary.deactivate_users == 1
    assert only.plan.summary.create_users == 0
    assert only.plan.links == ()
    assert only.claims is None
    assert only.marks.cleaned == {"old"}
