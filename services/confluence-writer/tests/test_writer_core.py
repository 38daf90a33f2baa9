"""Pure parts as tables: versions and capabilities, the desired-state checks, paging of
snapshots, the one status → error mapping, JSON-RPC faults, settings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from writer_support import cmd, make_config

from roster.shared.errors import (
    ConflictError,
    NotFoundError,
    PermanentError,
    RejectedError,
    TransientError,
)
from roster.shared.messages.commands import (
    AddMembership,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeleteUser,
    ReactivateUser,
    RemoveMembership,
    UpdateUser,
)
from roster.shared.messages.state import ConfluenceUser
from roster.writer.adapters.http import auth_header, classify
from roster.writer.adapters.rpc import fault_status, fault_text
from roster.writer.adapters.wire import RpcFault
from roster.writer.core.desired import (
    MissingSide,
    Observation,
    ObservedUser,
    holds,
    missing_side,
)
from roster.writer.core.pages import paginate
from roster.writer.core.version import Capabilities, parse_version, version_from_manifest
from roster.writer.settings import WriterOptions


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7.13", (7, 13)), ("8.4.1", (8, 4)), ("9.3.0-m12", (9, 3)), (" 8.2 ", (8, 2))],
)
def test_parse_version(text, expected) -> None:
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "auto", "8", "eight.four"])
def test_parse_version_rejects(text) -> None:
    with pytest.raises(ValueError, match="not a Confluence version"):
        parse_version(text)


def test_manifest_json_and_xml() -> None:
    assert version_from_manifest('{"typeId":"confluence","version":"8.5.4"}') == (8, 5)
    xml = "<manifest><id>x</id><typeId>confluence</typeId><version>7.19.2</version></manifest>"
    assert version_from_manifest(xml) == (7, 19)
    with pytest.raises(ValueError, match="no <version>"):
        version_from_manifest("<manifest/>")


@pytest.mark.parametrize(
    ("version", "admin", "create", "listing", "update"),
    [
        ((7, 13), False, False, False, False),
        ((8, 1), False, False, False, False),
        ((8, 2), True, False, False, False),
        ((8, 3), True, False, False, False),
        ((8, 4), True, True, True, False),
        ((9, 2), True, True, True, False),
        ((9, 3), True, True, True, True),
    ],
)
def test_capabilities(version, admin, create, listing, update) -> None:
    caps = Capabilities(version)
    assert (caps.rest_admin, caps.rest_create_user, caps.list_all_users, caps.rest_update_user) == (
        admin,
        create,
        listing,
        update,
    )


ANN = ObservedUser("ann", "k1", "Ann", "ann@example.com", True)
OFF = ObservedUser("ann", "k1", "Ann", "ann@example.com", False)
NO_MAIL = ObservedUser("ann", "k1", "Ann", None, True)
create = cmd(CreateUser, username="ann", display_name="Ann", email="ann@example.com")
update = cmd(UpdateUser, username="ann", display_name="Ann B", email="ann@example.com")


@pytest.mark.parametrize(
    ("command", "seen", "expected"),
    [
        (create, Observation(user=ANN), True),
        (create, Observation(user=NO_MAIL), False),  # unknown email: write to be sure
        (create, Observation(user=None), False),
        (update, Observation(user=ANN), False),
        (cmd(DeactivateUser, username="ann"), Observation(user=OFF), True),
        (cmd(DeactivateUser, username="ann"), Observation(user=None), True),
        (cmd(DeactivateUser, username="ann"), Observation(user=ANN), False),
        (cmd(ReactivateUser, username="ann"), Observation(user=ANN), True),
        (cmd(ReactivateUser, username="ann"), Observation(user=None), False),
        (cmd(DeleteUser, username="ann"), Observation(user=None), True),
        (cmd(DeleteUser, username="ann"), Observation(user=OFF), False),
        (cmd(CreateGroup, group="g"), Observation(group_exists=True), True),
        (cmd(CreateGroup, group="g"), Observation(group_exists=False), False),
        (cmd(DeleteGroup, group="g"), Observation(group_exists=False), True),
        (cmd(AddMembership, username="ann", group="g"), Observation(member=True), True),
        (cmd(AddMembership, username="ann", group="g"), Observation(member=False), False),
        (cmd(RemoveMembership, username="ann", group="g"), Observation(member=False), True),
    ],
)
def test_holds(command, seen, expected) -> None:
    assert holds(command, seen) is expected


@pytest.mark.parametrize(
    ("group", "user", "side"),
    [
        (False, False, MissingSide.GROUP),
        (False, True, MissingSide.GROUP),
        (True, False, MissingSide.USER),
        (True, True, MissingSide.NEITHER),
    ],
)
def test_missing_side(group, user, side) -> None:
    assert missing_side(group_exists=group, user_exists=user) is side


@given(
    users=st.integers(0, 1300),
    groups=st.integers(0, 700),
    sizes=st.lists(st.integers(0, 900), max_size=5),
    size=st.integers(1, 500),
)
def test_pages_keep_everything_and_stay_small(users, groups, sizes, size) -> None:
    people = [ConfluenceUser(username=f"u{i}") for i in range(users)]
    names = [f"g{i}" for i in range(groups)]
    members = {f"m{n}": [f"u{i}" for i in range(k)] for n, k in enumerate(sizes)}
    pages = paginate(run_id="r", users=people, groups=names, members=members, size=size)
    assert [p.page for p in pages] == list(range(len(pages)))
    assert all(len(p.users) <= size and len(p.groups) <= size for p in pages)
    assert all(sum(len(m) for m in p.members.values()) <= size for p in pages)
    assert [u for p in pages for u in p.users] == people
    assert [g for p in pages for g in p.groups] == names
    merged: dict[str, list[str]] = {}
    for p in pages:
        for g, m in p.members.items():
            merged.setdefault(g, []).extend(m)
    assert merged == members


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (None, TransientError),
        (408, TransientError),
        (429, TransientError),
        (500, TransientError),
        (503, TransientError),
        (400, RejectedError),
        (402, RejectedError),
        (403, RejectedError),
        (404, NotFoundError),
        (409, ConflictError),
        (401, PermanentError),
        (410, PermanentError),
    ],
)
def test_classify(status, kind) -> None:
    error = classify(status, "why", retry_after=2.0)
    assert type(error) is kind
    assert str(error) == "why"
    assert error.status == status
    if kind is TransientError:
        assert error.retry_after == 2.0


def test_classify_success() -> None:
    assert classify(200, "") is None
    assert classify(204, "") is None


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"code": -32601, "message": "Method not found: x"}, 404),
        ({"code": -32602, "message": "Invalid params"}, 400),
        ({"code": -32603, "message": "Internal error"}, 500),
        ({"code": -32000, "message": "com.atlassian.confluence.rpc.AlreadyExistsException: x",
          "data": {"exception": "com.atlassian.confluence.rpc.AlreadyExistsException"}}, 409),
        ({"code": -32000, "message": "com.atlassian.confluence.rpc.RemoteException: "
          "No user found with username: x"}, 404),
        ({"code": -32000, "message": "com.atlassian.confluence.rpc.RemoteException: Unable to "
          "create user 'x': the licence allows 1 users and 1 are active"}, 402),
        ({"code": -32000, "message": "com.atlassian.confluence.rpc.NotPermittedException: no",
          "data": {"exception": "com.atlassian.confluence.rpc.NotPermittedException"}}, 403),
        ({"code": -32000, "message": "com.atlassian.confluence.rpc.RemoteException: "
          "email: Email 'x' is not a valid email address"}, 400),
    ],
)  # fmt: skip
def test_rpc_fault_status(fault, status) -> None:
    assert fault_status(RpcFault.model_validate(fault)) == status


def test_rpc_fault_text_drops_the_java_class() -> None:
    fault = RpcFault(code=-32000, message="com.atlassian.confluence.rpc.RemoteException: No user")
    assert fault_text(fault) == "No user"


def test_options_from_config_defaults_and_overrides() -> None:
    config = make_config(prefix="p:", dry_run=True)
    options = WriterOptions.from_config(config)
    assert options.dry_run is True
    assert options.concurrency == config.writer.concurrency
    assert options.max_attempts == config.writer.max_attempts
    assert options.timeout_seconds == config.confluence.timeout_seconds
    assert options.rate_limit_per_second == 0.0
    assert WriterOptions.from_config(config, max_attempts=9).max_attempts == 9
    with pytest.raises(ValueError, match="read_emails"):
        WriterOptions(read_emails="some")  # type: ignore[arg-type]


def test_auth_header_prefers_the_token() -> None:
    assert auth_header(make_config(prefix="p:", token=True).confluence.auth).startswith("Bearer ")
    basic = auth_header(make_config(prefix="p:").confluence.auth)
    assert basic == "Basic YWRtaW46YWRtaW4="  # admin:admin
