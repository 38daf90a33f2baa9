"""Property tests: malformed SCIM payloads, PATCH bodies, filters and query parameters are
always answered with a 4xx SCIM Error (or a success), never a 5xx — against the fetcher app on
the real Redis and Kafka, and against the pure filter parser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fetcher_scim_support import TOKEN_A, TOKENS, new_prefix, scim_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roster.fetcher.app import build_app
from roster.fetcher.scim.errors import ScimError
from roster.fetcher.scim.filter import matches, parse
from roster.fetcher.scim.schemas import ENTERPRISE, GROUPS, USERS

pytestmark = pytest.mark.integration
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["True", "False", "true", "", "urn:x", "\x00", "work", "\ud800", "a\udfffb"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
user_keys = st.sampled_from(
    [
        "userName",
        "USERNAME",
        "active",
        "emails",
        "name",
        "displayName",
        "schemas",
        "id",
        "meta",
        "password",
        "groups",
        "externalId",
        "manager",
        ENTERPRISE,
        f"{ENTERPRISE}:department",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        "addresses",
        "members",
    ]
)
user_bodies = st.one_of(
    json_values,
    st.dictionaries(user_keys, json_values, max_size=6),
    st.dictionaries(user_keys, json_values, max_size=6).map(lambda d: {"userName": "u", **d}),
)
paths = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "active",
            "userName",
            "name.givenName",
            "name.",
            'emails[type eq "work"].value',
            "emails[type eq ]",
            "emails[",
            'members[value eq "x"]',
            "members",
            "id",
            "meta.created",
            "groups",
            f"{ENTERPRISE}:manager",
            ENTERPRISE,
            "manager",
            "x[y eq 1].z.w",
            'emails[type eq "work"]',
        ]
    ),
    json_values,
)
operation = st.fixed_dictionaries(
    {},
    optional={
        "op": st.one_of(st.sampled_from(["add", "Add", "REPLACE", "remove", "move"]), json_values),
        "path": paths,
        "value": json_values,
    },
)
patch_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"Operations": st.one_of(st.lists(operation, max_size=4), json_values)},
        optional={"schemas": json_values},
    ),
)
filter_words = st.sampled_from(
    [
        "userName",
        "emails",
        "emails[type",
        "eq",
        "ne",
        "co",
        "sw",
        "gt",
        "pr",
        "and",
        "or",
        "not",
        "(",
        ")",
        "[",
        "]",
        '"x"',
        '"work"]',
        ".value",
        "true",
        "null",
        "1.5",
        '"unterminated',
        "active",
        "meta.created",
        "name.givenName",
        f"{ENTERPRISE}:department",
        "members[value",
        "\\",
        '"\\ud800"',  # a JSON-escaped lone surrogate (the raw one cannot be sent in a URL)
    ]
)
filters = st.one_of(
    st.text(max_size=40), st.lists(filter_words, min_size=1, max_size=9).map(" ".join)
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as mp:
        for env, value in TOKENS.items():
            mp.setenv(env, value)
        app = build_app(scim_config(new_prefix(), batch_seconds=30))
        with TestClient(app, headers={"Authorization": f"Bearer {TOKEN_A}"}) as c:
            created = c.post("/scim/v2/Users", json={"userName": "fuzz-target@example.com"})
            assert created.status_code == 201, created.text
            group = c.post("/scim/v2/Groups", json={"displayName": "fuzz-group"})
            assert group.status_code == 201, group.text
            c.headers["X-Target"] = created.json()["id"]
            c.headers["X-Group"] = group.json()["id"]
            yield c


def check(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/scim+json")
        body = response.json()
        assert body["schemas"] == [ERROR]
        assert body["status"] == str(response.status_code)


@FUZZ
@given(body=user_bodies)
def test_malformed_user_create_is_never_5xx(client: TestClient, body: Any) -> None:
    check(client.post("/scim/v2/Users", content=json.dumps(body)))


@FUZZ
@given(body=user_bodies)
def test_malformed_put_is_never_5xx(client: TestClient, body: Any) -> None:
    check(client.put(f"/scim/v2/Users/{client.headers['X-Target']}", content=json.dumps(body)))


@FUZZ
@given(body=patch_bodies, group=st.booleans())
def test_malformed_patch_is_never_5xx(client: TestClient, body: Any, group: bool) -> None:
    path = (
        f"/scim/v2/Groups/{client.headers['X-Group']}"
        if group
        else (f"/scim/v2/Users/{client.headers['X-Target']}")
    )
    check(client.patch(path, content=json.dumps(body)))


@FUZZ
@given(
    flt=filters,
    start=st.one_of(st.text(max_size=5), st.integers().map(str)),
    count=st.one_of(st.text(max_size=5), st.integers().map(str)),
    attributes=st.one_of(st.text(max_size=20), filter_words),
    resource=st.sampled_from(["Users", "Groups"]),
)
def test_malformed_queries_are_never_5xx(
    client: TestClient, flt: str, start: str, count: str, attributes: str, resource: str
) -> None:
    params = {"filter": flt, "startIndex": start, "count": count, "attributes": attributes}
    check(client.get(f"/scim/v2/{resource}", params=params))
    check(client.get(f"/scim/v2/{resource}", params={"excludedAttributes": attributes}))


@FUZZ
@given(raw=st.binary(max_size=60))
def test_bodies_that_are_not_json_are_400(client: TestClient, raw: bytes) -> None:
    response = client.post("/scim/v2/Users", content=raw)
    check(response)


@settings(max_examples=400, deadline=None)
@given(text=filters, resource=st.dictionaries(user_keys, json_values, max_size=5))
def test_filter_parser_raises_only_scim_errors(text: str, resource: dict[str, Any]) -> None:
    for kind in (USERS, GROUPS):
        outcome = _parse_and_match(kind, text, resource)
        assert outcome in (True, False, (400, "invalidFilter")), outcome


def _parse_and_match(kind: Any, text: str, resource: dict[str, Any]) -> Any:
    try:
        return matches(parse(kind, text), resource)
    except ScimError as exc:
        return (exc.status, exc.scim_type)
