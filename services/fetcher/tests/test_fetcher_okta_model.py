"""The connector's pure Okta mapping reads the golden samples (simulators/tests/okta/golden)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from roster.fetcher.core.changes import CursorExpired
from roster.fetcher.core.okta import (
    LogCursor,
    after_cursor,
    group_from_object,
    group_type,
    log_event,
    next_cursor,
    touched,
    user_from_object,
)
from roster.shared.config import DirectorySettings
from roster.shared.errors import PermanentError

GOLDEN = Path(__file__).parents[3] / "simulators" / "tests" / "okta" / "golden"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def test_users_map_login_names_status_and_attributes() -> None:
    active, suspended = (user_from_object(o) for o in golden("users.json"))
    assert (active.subject, active.login, active.email) == (
        "00ub0oNGTSWTBKOLGLNR", "isaac.brock@example.com", "isaac.brock@example.com"
    )  # fmt: skip
    assert (active.given_name, active.family_name, active.display_name) == (
        "Isaac",
        "Brock",
        "Isaac Brock",
    )
    assert active.active is True
    assert active.attributes["department"] == "Engineering"
    assert active.attributes["status"] == "ACTIVE"
    assert "login" not in active.attributes
    assert suspended.active is False
    assert suspended.login == "Jane.Doe@Example.com"  # lower-casing is the reconciler's rule
    assert suspended.display_name is None
    assert "secondEmail" not in suspended.attributes  # null values are left out


@pytest.mark.parametrize(
    ("status", "active"),
    [("ACTIVE", True), ("PROVISIONED", True), ("PASSWORD_EXPIRED", True), ("LOCKED_OUT", True),
     ("RECOVERY", True), ("STAGED", False), ("SUSPENDED", False), ("DEPROVISIONED", False)],
)  # fmt: skip
def test_status_decides_active(status: str, active: bool) -> None:
    obj = {**golden("users.json")[0], "status": status}
    assert user_from_object(obj).active is active


def test_user_without_login_is_refused() -> None:
    obj = golden("users.json")[0]
    with pytest.raises(PermanentError):
        user_from_object({**obj, "profile": {"email": "x@example.com"}})


def test_groups_map_name_and_type() -> None:
    objs = golden("groups.json")
    assert [group_type(o) for o in objs] == ["OKTA_GROUP", "BUILT_IN", "APP_GROUP"]
    group = group_from_object(golden("group.json"))
    assert (group.id, group.name, group.parent_id) == (
        "00g1emaKYZTWRYYRRTSK",
        "West Coast Users",
        None,
    )


def test_log_events_name_what_to_reread() -> None:
    events = [log_event(o) for o in golden("logs.json")]
    what = touched(events)
    assert what.memberships == [("00ub0oNGTSWTBKOLGLNR", "00g1emaKYZTWRYYRRTSK")]
    assert what.users == ["00u1f96ECLNVOKVMUSEA"]
    hook = [log_event(o) for o in golden("event-hook-delivery.json")["data"]["events"]]
    assert hook[0].uuid == events[1].uuid


def test_cursor_moves_past_read_events_and_keeps_same_instant_uuids() -> None:
    events = [log_event(o) for o in golden("logs.json")]
    start = LogCursor("2024-08-13T15:58:20.353Z", frozenset({events[0].uuid}))
    fresh = after_cursor(events + events[1:], start)  # the first was read; a duplicate dropped
    assert [e.uuid for e in fresh] == [events[1].uuid]
    moved = next_cursor(fresh, start)
    assert moved == LogCursor("2024-08-13T15:58:21.004Z", frozenset({events[1].uuid}))
    assert LogCursor.decode(moved.encode()) == moved
    assert next_cursor([], moved) == moved


def test_unreadable_cursor_is_expired() -> None:
    with pytest.raises(CursorExpired):
        LogCursor.decode('{"seen": []}')


@pytest.mark.parametrize(
    ("okta", "message"),
    [
        ({"org_url": "https://x.okta.com"}, "exactly one of 'api_token' or 'oauth'"),
        ({"org_url": "https://x.okta.com", "api_token": {"env": "T"},
          "oauth": {"client_id": "c", "private_key": {"env": "K"}}}, "exactly one"),
        ({"org_url": "x.okta.com.example", "api_token": {"env": "T"}}, "org_url"),
        ({"org_url": "https://x.okta.com", "api_token": {"env": "T"}, "users_page_size": 500},
         "users_page_size"),
        ({"org_url": "https://x.okta.com", "api_token": {"env": "T"}, "group_types": ["NESTED"]},
         "group_types"),
    ],
)  # fmt: skip
def test_settings_errors_name_the_field(okta: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DirectorySettings.model_validate({"id": "o", "kind": "okta", "okta": okta})


def test_kind_okta_needs_its_section() -> None:
    with pytest.raises(ValidationError, match="needs a 'okta' section"):
        DirectorySettings.model_validate({"id": "o", "kind": "okta"})
