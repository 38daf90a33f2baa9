"""The connector's pure Graph mapping on the golden samples (simulators/tests/entra/golden):
users (guest UPN kept, null mail, disabled), groups, members, delta pages folded into
changes, and which answers mean what error (table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from roster.fetcher.connectors.entra_client import Call, error_for
from roster.fetcher.core.changes import (
    CursorExpired,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)
from roster.fetcher.core.entra import (
    assemble,
    complete_user,
    fold_groups,
    fold_users,
    group_from_graph,
    is_user,
    user_from_graph,
    values,
)
from roster.shared.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    RejectedError,
    TransientError,
)

GOLDEN = Path(__file__).parents[3] / "simulators" / "tests" / "entra" / "golden"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def test_users_page() -> None:
    users = [user_from_graph(rep) for rep in values(golden("graph-v1.0.users-page.json"),
                                                     what="users")]  # fmt: skip
    adele, guest = users
    assert adele.login == "adele.vance@contoso.onmicrosoft.com"
    assert adele.email == "adele.vance@contoso.com"
    assert adele.display_name == "Adele Vance"
    assert adele.active
    assert adele.attributes == {"department": "Retail", "title": "Retail Manager",
                                "employeeNumber": "E100231", "userType": "Member"}  # fmt: skip
    assert guest.login == "jane.doe_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    assert not guest.active
    assert guest.given_name is None
    assert guest.attributes == {"userType": "Guest"}


def test_user_without_account_enabled_is_refused() -> None:
    with pytest.raises(PermanentError, match="accountEnabled"):
        user_from_graph({"id": "x", "userPrincipalName": "x@y"})


def test_groups_and_members_pages() -> None:
    groups = [group_from_graph(r) for r in golden("graph-v1.0.groups-page.json")["value"]]
    assert [(g.name, g.path, g.parent_id) for g in groups] == [
        ("HR Taskforce", "/HR Taskforce", None),
        ("Marketing Team", "/Marketing Team", None),
    ]
    members = golden("graph-v1.0.group-members-page.json")["value"]
    assert [m["id"] for m in members if is_user(m)] == ["2fb3e0a5-6c1e-4d8a-9c55-0b1f0d6a8e21"]


def test_delta_pages_become_ordered_changes() -> None:
    users = fold_users(golden("graph-v1.0.users-delta-page.json")["value"])
    groups = fold_groups(golden("graph-v1.0.groups-delta-page.json")["value"])
    assert set(users.removed) == {"8c4d1b77-03e2-4f1a-a6d0-52b7f3e9c410",
                                  "3a7e9b20-5d4c-4e1f-b8a2-9c0d1e2f3a4b"}  # fmt: skip
    partial = users.present["6f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f"]
    assert not complete_user(partial)  # the connector re-reads this one
    full = [user_from_graph(r) for r in users.present.values() if complete_user(r)]
    assert groups.nested_changed
    changes = assemble(groups=groups, users=full, gone_users=set(users.removed))
    hr = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
    assert [type(c) for c in changes] == [GroupUpserted, UserUpserted, MemberAdded,
                                          GroupDeleted, UserDeleted, UserDeleted]  # fmt: skip
    assert changes[2] == MemberAdded(hr, "2fb3e0a5-6c1e-4d8a-9c55-0b1f0d6a8e21")
    # the removed member was soft-deleted too: its UserDeleted covers it, no MemberRemoved
    assert not any(isinstance(c, MemberRemoved) for c in changes)


TOKEN = Call(kind="token", method="POST", path="/oauth2/v2.0/token")
USERS = Call(kind="users", method="GET", path="/users")
DELTA = Call(kind="users-delta", method="GET", path="/users/delta")
ERRORS: list[tuple[int, Call, str, type[Exception] | None]] = [
    (200, USERS, "", None),
    (429, USERS, "TooManyRequests", TransientError),
    (503, USERS, "", TransientError),
    (429, DELTA, "", TransientError),
    (400, DELTA, "syncStateNotFound", CursorExpired),
    (410, DELTA, "resyncRequired", CursorExpired),
    (400, USERS, "syncStateNotFound", RejectedError),
    (401, TOKEN, "invalid_client", PermanentError),
    (400, TOKEN, "invalid_scope", ConfigurationError),
    (401, USERS, "InvalidAuthenticationToken", PermanentError),
    (403, USERS, "Authorization_RequestDenied", RejectedError),
    (404, USERS, "Request_ResourceNotFound", NotFoundError),
]


@pytest.mark.parametrize(("status", "call", "code", "expected"), ERRORS)
def test_error_for(status: int, call: Call, code: str, expected: type[Exception] | None) -> None:
    error = error_for(status, call, code=code, retry_after=3.0, client_id="app", tenant="t")
    if expected is None:
        assert error is None
        return
    assert type(error) is expected
    if expected is TransientError:
        assert isinstance(error, TransientError)
        assert error.retry_after == 3.0
