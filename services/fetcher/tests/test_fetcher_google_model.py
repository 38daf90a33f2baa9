"""The Google connector's pure mapping on the Admin SDK samples the simulator is checked
against (`simulators/tests/google/golden/`): the same payloads on both sides of the wire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from roster.fetcher.connectors.google_client import Call, error_for
from roster.fetcher.core.changes import CursorExpired
from roster.fetcher.core.google import (
    ReportCursor,
    admin_events,
    advance,
    error_reason,
    format_time,
    group_from_rep,
    listing,
    member_group,
    member_user,
    parse_time,
    unseen_in_order,
    user_from_rep,
)
from roster.shared.errors import NotFoundError, PermanentError, RejectedError, TransientError

GOLDEN = Path(__file__).parents[3] / "simulators" / "tests" / "google" / "golden"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def test_users_map_to_idp_users() -> None:
    reps, token = listing(golden("google.directory.users.list.json"), "users", what="users")
    assert token is not None
    liz, omar = (user_from_rep(r) for r in reps)
    assert (liz.subject, liz.login, liz.email) == (
        "104497032270219758212", "liz.jensen@example.com", "liz.jensen@example.com",
    )  # fmt: skip
    assert (liz.given_name, liz.family_name, liz.display_name) == ("Liz", "Jensen", "Liz Jensen")
    assert liz.active is True
    assert liz.attributes == {
        "department": "Engineering", "title": "Staff Engineer", "employeeNumber": "E100042",
        "orgUnitPath": "/Engineering", "location": "Berlin",
    }  # fmt: skip
    assert omar.active is False  # suspended
    archived = {**reps[0], "archived": True}
    assert user_from_rep(archived).active is False
    assert user_from_rep(reps[0], login_attribute="localPart").login == "liz.jensen"


def test_an_empty_last_page_has_no_items_and_no_token() -> None:
    body = golden("google.directory.users.list.last-empty.json")
    assert listing(body, "users", what="users") == ([], None)


def test_groups_and_members() -> None:
    reps, _ = listing(golden("google.directory.groups.list.json"), "groups", what="groups")
    group = group_from_rep(reps[0])
    assert (group.id, group.name, group.path) == (
        "03ep43zb2x0tv4p", "eng-platform", "eng-platform@example.com",
    )  # fmt: skip
    members, _ = listing(golden("google.directory.members.list.json"), "members", what="members")
    assert [member_user(m) for m in members] == ["104497032270219758212", None]
    assert [member_group(m) for m in members] == [None, "01baon6m1j7ky9v"]


def test_activities_become_events_oldest_first() -> None:
    items, _ = listing(golden("google.reports.activities.list.json"), "items", what="activities")
    events = admin_events(items)
    ordered = unseen_in_order(events, ReportCursor(watermark=0))
    assert [e.name for e in ordered] == ["CHANGE_LAST_NAME", "ADD_GROUP_MEMBER"]
    assert ordered[1].parameters == {
        "USER_EMAIL": "liz.jensen@example.com", "GROUP_EMAIL": "eng-platform@example.com",
    }  # fmt: skip
    assert ordered[1].time == parse_time("2026-11-28T15:02:11.482Z")


def test_the_cursor_skips_what_it_saw_and_forgets_outside_the_overlap() -> None:
    items, _ = listing(golden("google.reports.activities.list.json"), "items", what="activities")
    events = admin_events(items)
    start = ReportCursor(watermark=parse_time("2026-11-28T15:00:00Z"))
    after = advance(start, events, overlap=600)
    assert after.watermark == parse_time("2026-11-28T15:02:11.482Z")
    assert unseen_in_order(events, ReportCursor.decode(after.encode())) == []
    much_later = advance(after, [], overlap=600)
    assert much_later == after
    moved = ReportCursor(watermark=after.watermark + 3600, seen=after.seen)
    assert advance(moved, [], overlap=600).seen == ()


@pytest.mark.parametrize("text", ["", "{}", '{"v": 2, "t": 1}', "not json", '{"v":1}'])
def test_foreign_cursors_expire(text: str) -> None:
    with pytest.raises(CursorExpired):
        ReportCursor.decode(text)


def test_times_round_trip_to_the_millisecond_rounded_down() -> None:
    assert format_time(parse_time("2026-11-28T15:02:11.482Z")) == "2026-11-28T15:02:11.482Z"
    assert format_time(1_790_000_000.9996) == "2026-09-21T14:13:20.999Z"


CALL = Call(kind="users", method="GET", path="/admin/directory/v1/users")


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (403, golden("google.error.403-user-rate-limit.json"), TransientError),
        (403, {"error": {"errors": [{"reason": "rateLimitExceeded"}]}}, TransientError),
        (403, {"error": {"errors": [{"reason": "quotaExceeded"}]}}, TransientError),
        (403, {"error": {"errors": [{"reason": "forbidden"}]}}, RejectedError),
        (403, {"error": {"errors": [{"reason": "insufficientPermissions"}]}}, RejectedError),
        (429, None, TransientError),
        (503, {"error": {"errors": [{"reason": "backendError"}]}}, TransientError),
        (404, golden("google.error.404-not-found.json"), NotFoundError),
        (400, {"error": {"errors": [{"reason": "invalid"}]}}, RejectedError),
        (401, None, PermanentError),
    ],
)
def test_status_and_reason_decide_the_error(status: int, body: Any, kind: type) -> None:
    error = error_for(status, CALL, body=body, subject="admin@example.com", client_email="sa@x")
    assert type(error) is kind
    if status == 403 and kind is TransientError:
        assert "throttled" in str(error)
        assert error_reason(body) in str(error)


def test_a_refused_token_names_delegation_and_never_the_key() -> None:
    token_call = Call(kind="token", method="POST", path="token")
    body = golden("google.oauth2.token.error-unauthorized-client.json")
    error = error_for(401, token_call, body=body, subject="admin@example.com", client_email="sa@x")
    assert isinstance(error, PermanentError)
    assert "domain-wide delegation" in str(error)
    assert "unauthorized_client" in str(error)
    assert error_for(200, token_call, body={}, subject="a", client_email="b") is None
