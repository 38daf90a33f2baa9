"""Keycloak representations → IdpUser / IdpGroup, on golden payloads named after their source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from roster.fetcher.core.keycloak import (
    display_name,
    flatten_attributes,
    group_from_rep,
    is_service_account,
    listed_children,
    member_subject,
    objects,
    user_from_rep,
)
from roster.shared.errors import PermanentError
from roster.shared.messages.directory import IdpGroup, IdpUser

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def test_users_page_maps_to_idp_users() -> None:
    users = [
        user_from_rep(rep)
        for rep in objects(golden("keycloak-26_admin_users_full.json"), what="users")
    ]
    assert users == [
        IdpUser(
            subject="3f1c2a9e-8d4b-4e61-9b0a-2c7d5e8f1a34",
            login="ana.silva",
            email="ana.silva@example.com",
            given_name="Ana",
            family_name="Silva",
            display_name="Ana Silva",
            active=True,
            attributes={
                "department": "Engineering",
                "employeeNumber": "E100042",
                "costCenters": ["CC-1001", "CC-1002"],
            },
        ),
        IdpUser(subject="9a0e7b42-1f3d-4c8a-a5e6-7b2d9c0f4e11", login="batch-runner"),
        IdpUser(
            subject="c41b9e07-5d2a-4f3e-8b6c-0a9e1d7f2b58",
            login="jo.leaver",
            email="jo.leaver@example.com",
            family_name="Leaver",
            display_name="Leaver",
            active=False,
            attributes={
                "LDAP_ID": "7b1e2c3d-0000-1111-2222-333344445555",
                "LDAP_ENTRY_DN": "uid=jo.leaver,ou=people,dc=example,dc=com",
            },
        ),
    ]
    for user in users:  # the wire form of the message model round-trips
        assert IdpUser.model_validate_json(user.model_dump_json()) == user


def test_member_page_gives_subjects() -> None:
    reps = objects(golden("keycloak-26_admin_group_members_brief.json"), what="members")
    assert [member_subject(r) for r in reps] == [
        "3f1c2a9e-8d4b-4e61-9b0a-2c7d5e8f1a34",
        "c41b9e07-5d2a-4f3e-8b6c-0a9e1d7f2b58",
    ]


def test_keycloak_26_groups_ask_for_children_by_count() -> None:
    eng, marketing = golden("keycloak-26_admin_groups_top_brief.json")
    assert listed_children(eng) is None, "subGroupCount 2 with empty subGroups: ask /children"
    assert listed_children(marketing) == []
    top = group_from_rep(eng, parent=None)
    assert top == IdpGroup(id=eng["id"], name="eng", path="/eng", parent_id=None)
    children = [
        group_from_rep(c, parent=top) for c in golden("keycloak-26_admin_group_children_brief.json")
    ]
    assert [(g.path, g.parent_id) for g in children] == [
        ("/eng/eng-platform", top.id),
        ("/eng/eng-payments", top.id),
    ]
    assert IdpGroup.model_validate_json(top.model_dump_json()) == top


def test_keycloak_22_tree_is_walked_from_sub_groups() -> None:
    eng, marketing = golden("keycloak-22_admin_groups_tree.json")
    top = group_from_rep(eng, parent=None)
    (platform_rep,) = listed_children(eng) or []
    platform = group_from_rep(platform_rep, parent=top)
    (oncall_rep,) = listed_children(platform_rep) or []
    oncall = group_from_rep(oncall_rep, parent=platform)
    assert platform.parent_id == top.id, "no parentId on old servers: taken from the walk"
    assert oncall == IdpGroup(
        id=oncall_rep["id"],
        name="eng-platform-oncall",
        path="/eng/eng-platform/eng-platform-oncall",
        parent_id=platform.id,
    )
    assert listed_children(marketing) == []


def test_path_is_built_when_keycloak_leaves_it_out() -> None:
    parent = IdpGroup(id="p", name="a b", path="/a b")
    assert group_from_rep({"id": "c", "name": "c"}, parent=parent).path == "/a b/c"
    assert group_from_rep({"id": "t", "name": "t"}, parent=None).path == "/t"


@pytest.mark.parametrize(
    ("raw", "flat"),
    [
        ({"a": ["1"]}, {"a": "1"}),
        ({"a": ["1", "2"]}, {"a": ["1", "2"]}),
        ({"a": []}, {}),
        ({"a": "plain"}, {"a": "plain"}),
        ({"n": [7, None]}, {"n": "7"}),
        (None, {}),
        (["not", "a", "map"], {}),
    ],
)
def test_attributes_are_flattened(raw: Any, flat: dict[str, Any]) -> None:
    assert flatten_attributes(raw) == flat


@pytest.mark.parametrize(
    ("given", "family", "shown"),
    [
        ("Ana", "Silva", "Ana Silva"),
        ("Cher", None, "Cher"),
        (None, "Leaver", "Leaver"),
        (None, None, None),
    ],
)
def test_display_name(given: str | None, family: str | None, shown: str | None) -> None:
    assert display_name(given, family) == shown


def test_service_accounts_are_recognised() -> None:
    assert is_service_account(
        {"id": "x", "username": "service-account-x", "serviceAccountClientId": "x"}
    )
    assert not is_service_account({"id": "x", "username": "service-account-lookalike"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "HTTP 404"}, "not a list"),
        ([{"id": "x"}], "without 'username'"),
        ([{"username": "u"}], "without 'id'"),
    ],
)
def test_malformed_payloads_are_permanent_errors(body: Any, message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        [user_from_rep(rep) for rep in objects(body, what="GET /users")]
