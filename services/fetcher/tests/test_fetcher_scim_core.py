"""Pure parts of the SCIM endpoint, table-driven: the filter grammar and its evaluation,
PATCH semantics with the Entra/Okta quirks, input normalisation, and the micro-batcher."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from roster.fetcher.scim import patch
from roster.fetcher.scim.batcher import MicroBatcher
from roster.fetcher.scim.errors import ScimError
from roster.fetcher.scim.events import group_changes, user_changes
from roster.fetcher.scim.filter import matches, parse
from roster.fetcher.scim.resources import normalise
from roster.fetcher.scim.schemas import ENTERPRISE, GROUPS, USERS

USER: dict[str, Any] = {
    "id": "u1",
    "userName": "Barbara@Contoso.com",
    "externalId": "AbC",
    "active": True,
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [
        {"type": "work", "value": "bjensen@contoso.com", "primary": True},
        {"type": "home", "value": "babs@home.example"},
    ],
    "meta": {"created": "2026-01-02T03:04:05Z", "lastModified": "2026-03-01T00:00:00Z"},
    ENTERPRISE: {"department": "Tour Operations", "manager": {"value": "m1"}},
}

FILTERS = [
    ('userName eq "barbara@contoso.com"', True),  # caseExact false
    ('USERNAME EQ "BARBARA@CONTOSO.COM"', True),  # names and operators case-insensitive
    ('externalId eq "abc"', False),  # externalId is caseExact
    ("externalId eq AbC", True),  # Entra's unquoted form
    ('emails[type eq "work"].value eq "bjensen@contoso.com"', True),
    ('emails[type eq "home"].value eq "bjensen@contoso.com"', False),
    ('emails[type eq "work" and primary eq true]', True),
    ('emails co "home.example"', True),  # complex compares its value
    ('emails.value ew "@contoso.com"', True),
    ('name.givenName sw "bar" and not (active eq false)', True),
    ("name.familyName pr and title pr", False),
    ("title pr or name.familyName pr", True),
    ("active eq true", True),
    ('active eq "True"', True),
    ('meta.lastModified gt "2026-02-01T00:00:00Z"', True),
    ('meta.created ge "2026-02-01T00:00:00Z"', False),
    (f'{ENTERPRISE}:department eq "tour operations"', True),
    (f'{ENTERPRISE}:manager.value eq "m1"', True),
    ('userName eq "x" or userName eq "y" or name.givenName eq "barbara"', True),
    ('userName eq "x" or userName eq "barbara@contoso.com" and active eq false', False),
    ('(userName eq "x" or userName eq "barbara@contoso.com") and active eq true', True),
    ("title eq null", True),
    ("nickName ne null", False),
    ('unknownAttr eq "x"', False),
    ('id eq "u1"', True),
]


@pytest.mark.parametrize(("text", "expected"), FILTERS)
def test_filter(text: str, expected: bool) -> None:
    assert matches(parse(USERS, text), USER) is expected


BAD_FILTERS = [
    "",
    'userName eq "unterminated',
    "userName eq",
    "userName zz 1",
    '(userName eq "a"',
    'userName eq "a")',
    'emails[type eq "work"',
    'emails[type eq "work"].value',  # a sub-attribute needs an operator
    "and",
    'userName eq "a" and',
    "name. eq 1",
    "userName eq and",
    "(" * 200 + 'userName eq "a"' + ")" * 200,
]


@pytest.mark.parametrize("text", BAD_FILTERS)
def test_bad_filter_is_invalid_filter(text: str) -> None:
    with pytest.raises(ScimError) as caught:
        parse(USERS, text)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidFilter")


def test_ordering_a_boolean_is_invalid_filter() -> None:
    with pytest.raises(ScimError, match="booleans"):
        matches(parse(USERS, "active gt true"), USER)


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"Operations": list(operations)}


def applied(body: dict[str, Any], start: dict[str, Any] | None = None) -> dict[str, Any]:
    current = {k: v for k, v in (start or USER).items() if k not in ("id", "meta")}
    return normalise(USERS, patch.apply(USERS, current, body))


PATCHES = [
    (ops({"op": "Replace", "path": "active", "value": "False"}), "active", False),
    (ops({"op": "replace", "value": {"active": "true"}}), "active", True),
    (ops({"op": "Add", "path": "nickName", "value": "Babs"}), "nickName", "Babs"),
    (
        ops({"op": "replace", "value": {"name.givenName": "Babs", "displayName": "B J"}}),
        "name",
        {"givenName": "Babs", "familyName": "Jensen"},
    ),
    (
        ops({"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Sales"}),
        ENTERPRISE,
        {"department": "Sales", "manager": {"value": "m1"}},
    ),
    (
        ops({"op": "replace", "value": {f"{ENTERPRISE}:employeeNumber": "7"}}),
        ENTERPRISE,
        {"department": "Tour Operations", "manager": {"value": "m1"}, "employeeNumber": "7"},
    ),
    (
        ops({"op": "Replace", "path": 'emails[type eq "work"].value', "value": "n@x.com"}),
        "emails",
        [
            {"type": "work", "value": "n@x.com", "primary": True},
            {"type": "home", "value": "babs@home.example"},
        ],
    ),
    (
        ops({"op": "remove", "path": 'emails[type eq "home"]'}),
        "emails",
        [{"type": "work", "value": "bjensen@contoso.com", "primary": True}],
    ),
    (
        ops({"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555"}),
        "phoneNumbers",
        [{"type": "mobile", "value": "+1 555"}],
    ),
    (ops({"op": "remove", "path": "name.familyName"}), "name", {"givenName": "Barbara"}),
    (
        ops({"op": "Add", "path": "manager", "value": [{"$ref": None, "value": "m2"}]}),
        ENTERPRISE,
        {"department": "Tour Operations", "manager": {"value": "m2"}},
    ),
    (ops({"op": "replace", "path": "displayName", "value": None}), "displayName", None),
]


@pytest.mark.parametrize(("body", "key", "expected"), PATCHES)
def test_patch(body: dict[str, Any], key: str, expected: Any) -> None:
    assert applied(body).get(key) == expected


GROUP = {"displayName": "G", "members": [{"value": "a"}, {"value": "b"}, {"value": "c"}]}
GROUP_PATCHES = [
    (ops({"op": "Remove", "path": "members", "value": [{"value": "a"}]}), ["b", "c"]),
    (ops({"op": "remove", "path": 'members[value eq "b"]'}), ["a", "c"]),
    (
        ops({"op": "add", "path": "members", "value": [{"value": "d", "display": "D"}]}),
        ["a", "b", "c", "d"],
    ),
    (ops({"op": "add", "path": "members", "value": [{"value": "a"}]}), ["a", "b", "c"]),
    (ops({"op": "replace", "path": "members", "value": [{"value": "z"}]}), ["z"]),
    (ops({"op": "remove", "path": "members"}), []),
    (ops({"op": "replace", "value": {"id": "g1", "displayName": "G2"}}), ["a", "b", "c"]),
]


@pytest.mark.parametrize(("body", "members"), GROUP_PATCHES)
def test_group_patch(body: dict[str, Any], members: list[str]) -> None:
    out = normalise(GROUPS, patch.apply(GROUPS, GROUP, body))
    assert [m["value"] for m in out.get("members", [])] == members


BAD_PATCHES = [
    ({}, "invalidSyntax"),
    ({"Operations": []}, "invalidSyntax"),
    (ops({"op": "move", "path": "active", "value": True}), "invalidValue"),
    (ops({"op": "remove"}), "noTarget"),
    (ops({"op": "replace", "path": "bogus", "value": 1}), "invalidPath"),
    (ops({"op": "replace", "path": "id", "value": "x"}), "mutability"),
    (ops({"op": "replace", "path": "active", "value": "maybe"}), "invalidValue"),
    (ops({"op": "remove", "path": "userName"}), "invalidValue"),
    (ops({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}), "invalidPath"),
    (ops({"op": "replace", "path": 'emails[value co "nomatch"].type', "value": "x"}), "noTarget"),
]


@pytest.mark.parametrize(("body", "scim_type"), BAD_PATCHES)
def test_bad_patch(body: dict[str, Any], scim_type: str) -> None:
    with pytest.raises(ScimError) as caught:
        applied(body)
    assert (caught.value.status, caught.value.scim_type) == (400, scim_type)


def test_normalise_tolerates_what_idps_send() -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:unknown"],
        "USERNAME": "x@y",
        "active": "False",
        "addresses": None,
        "password": "p",
        "groups": [{"value": "g"}],
        "id": "client-chosen",
        "meta": {"resourceType": "User"},
        "roles": [],
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "X",
        f"{ENTERPRISE}:department": "D",
        "somethingElse": 1,
    }
    assert normalise(USERS, body) == {
        "userName": "x@y",
        "active": False,
        "displayName": "X",
        ENTERPRISE: {"department": "D"},
    }
    group = {"schemas": ["http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
             "displayName": "G", "members": []}  # fmt: skip
    assert normalise(GROUPS, group) == {"displayName": "G"}


def test_changes_follow_what_roster_sees() -> None:
    user = {**USER, "phoneNumbers": [{"value": "1"}]}
    assert user_changes(None, USER)[0]["user"]["email"] == "bjensen@contoso.com"
    assert user_changes(USER, user) == []  # phone numbers are not part of Roster's view
    disabled = user_changes(USER, {**USER, "active": False})
    assert disabled[0]["user"]["active"] is False
    assert user_changes(USER, None) == [{"k": "user-", "subject": "u1"}]
    old = {"id": "g", "displayName": "G", "members": [{"value": "a"}, {"value": "b"}]}
    new = {"id": "g", "displayName": "G", "members": [{"value": "b"}, {"value": "c"}]}
    assert group_changes(old, new) == [
        {"k": "member+", "group": "g", "subject": "c"},
        {"k": "member-", "group": "g", "subject": "a"},
    ]


async def test_batcher_folds_a_burst_into_few_runs() -> None:
    now = [100.0]
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        now[0] += seconds
        await asyncio.sleep(0)

    started: list[int] = []

    async def start_run() -> str:
        started.append(1)
        return f"r{len(started)}"

    batcher = MicroBatcher("d", start_run, interval=0.5, clock=lambda: now[0], sleep=sleep)
    task = asyncio.create_task(batcher.run())
    try:
        batcher.notify()
        for _ in range(5):
            await asyncio.sleep(0)
        assert batcher.runs == 1  # the first change starts a run at once
        for _ in range(50):
            batcher.notify()
        for _ in range(10):
            await asyncio.sleep(0)
        assert batcher.runs == 2  # fifty more changes: one more run, after the interval
        assert delays == [0.5]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_batcher_survives_a_failing_start() -> None:
    calls: list[int] = []

    async def start_run() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("kafka down")
        return "ok"

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    batcher = MicroBatcher("d", start_run, interval=0.5, sleep=sleep)
    task = asyncio.create_task(batcher.run())
    try:
        batcher.notify()
        for _ in range(20):
            await asyncio.sleep(0)
        assert batcher.runs == 1
        assert len(calls) == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


CONFIG_ERRORS = [
    ({"id": "s", "kind": "scim"}, "needs a 'scim' section"),
    ({"id": "s", "kind": "scim", "scim": {"tokens": []}}, "directories.0.scim.tokens"),
    ({"id": "s", "kind": "scim", "scim": {"tokens": [{"env": "A", "file": "/x"}]}}, "tokens.0"),
    (
        {"id": "s", "kind": "scim", "scim": {"tokens": [{"env": "A"}], "batch_seconds": 0}},
        "batch_seconds",
    ),
    ({"id": "s", "kind": "scim", "scim": {"tokens": [{"env": "A"}], "tokenz": 1}}, "tokenz"),
]


@pytest.mark.parametrize(("directory", "field"), CONFIG_ERRORS)
def test_scim_configuration_errors_name_the_field(directory: dict[str, Any], field: str) -> None:
    from roster.shared.config import parse_config
    from roster.shared.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=field):
        parse_config({"directories": [directory]})
