"""The Google connector against the Google simulator over HTTP (in-process ASGI): full sync,
paging, nested groups, single reads, connection check, service-account auth, throttling,
token expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from fetcher_support import FakeClock, FakeSleep, collect
from google_fetcher_support import (
    ADMIN,
    Setup,
    asgi,
    connector_on,
    google_directory,
    make_sim,
    write_key,
)

from roster.shared.errors import ConfigurationError, PermanentError, TransientError
from roster.simulators.google.config import READONLY_SCOPES


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Any]:
    """`await setup(sim_options..., google_settings...)` → a `Setup`; clients closed after."""
    clients: list[Any] = []

    async def make(*, sim: dict[str, Any] | None = None, attempts: int = 6, **google: Any) -> Setup:
        clock = FakeClock()
        sleep = FakeSleep(clock)
        app = make_sim(clock, **(sim or {}))
        key = write_key(app, tmp_path / f"sa-{len(clients)}.json")
        client = asgi(app)
        ctl = asgi(app)
        clients.extend([client, ctl])
        connector = connector_on(
            app, google_directory(key, **google), client, clock, sleep, attempts=attempts
        )
        return Setup(app, ctl, connector, clock, sleep)

    yield make
    for client in clients:
        await client.aclose()


def query(entry: dict[str, Any]) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(entry["query"]).items()}


async def test_full_snapshot_matches_the_simulated_customer(setup: Any) -> None:
    s = await setup()
    snap = await collect(s.connector)
    want = await s.sim_get("/_sim/directory")
    assert {u.subject for u in snap.users} == {u["id"] for u in want["users"]}
    by_id = {u["id"]: u for u in want["users"]}
    for user in snap.users:
        w = by_id[user.subject]
        assert user.login == user.email == w["primary_email"]
        assert user.display_name == w["full_name"]
        assert user.active == (not w["suspended"] and not w["archived"])
    assert any(not u.active for u in snap.users), "generated directory has suspended users"
    assert {g.id: g.name for g in snap.groups} == {g["id"]: g["name"] for g in want["groups"]}
    # only USER members are mirrored; nested groups (GROUP members) are not users
    assert {k: sorted(v) for k, v in snap.members.items()} == {
        k: sorted(v) for k, v in want["memberships"].items()
    }
    assert any(want["nested"].values()), "generated directory nests groups"
    departments = {u.attributes.get("department") for u in snap.users}
    assert "Engineering" in departments


async def test_pages_follow_next_page_token_with_the_configured_sizes(setup: Any) -> None:
    s = await setup(users_page_size=25, members_page_size=10, groups_page_size=5)
    snap = await collect(s.connector)
    user_calls = await s.requests(op="users")
    assert [query(c).get("maxResults") for c in user_calls] == ["25"] * len(user_calls)
    assert len(user_calls) == -(-len(snap.users) // 25)  # ceil: every page once
    assert "pageToken" not in query(user_calls[0])
    assert all("pageToken" in query(c) for c in user_calls[1:])
    group_calls = await s.requests(op="groups")
    assert len(group_calls) == -(-12 // 5)
    biggest = max(snap.members.values(), key=len)
    assert len(biggest) > 10, "some group spans several member pages"
    assert len({len(p.members) for p in snap.pages}) > 1


async def test_page_sizes_above_the_api_limits_are_refused_by_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="users_page_size"):
        google_directory(tmp_path / "k.json", users_page_size=501)
    with pytest.raises(ValueError, match="members_page_size"):
        google_directory(tmp_path / "k.json", members_page_size=201)


async def test_derived_membership_lists_members_of_nested_groups(setup: Any) -> None:
    s = await setup(include_derived_membership=True)
    snap = await collect(s.connector)
    want = await s.sim_get("/_sim/directory")
    parent, children = next((g, c) for g, c in want["nested"].items() if c)
    expected = set(want["memberships"][parent])
    stack = list(children)
    while stack:
        child = stack.pop()
        expected |= set(want["memberships"][child])
        stack.extend(want["nested"][child])
    assert set(snap.members[parent]) == expected
    assert expected > set(want["memberships"][parent])
    calls = await s.requests(op="members")
    assert all(query(c)["includeDerivedMembership"] == "true" for c in calls)


async def test_fetch_user_and_user_groups(setup: Any) -> None:
    s = await setup()
    want = await s.sim_get("/_sim/directory")
    gid, members = next((g, m) for g, m in want["memberships"].items() if m)
    user = await s.connector.fetch_user(members[0])
    assert user is not None
    assert user.subject == members[0]
    groups = await s.connector.user_groups(members[0])
    assert gid in {g.id for g in groups}
    assert await s.connector.fetch_user("100000000000000000000") is None


async def test_check_passes_with_delegation_and_names_the_problem_without(setup: Any) -> None:
    s = await setup()
    await s.connector.check()
    missing = tuple(x for x in READONLY_SCOPES if "reports" not in x)
    s = await setup(sim={"delegated_scopes": missing})
    with pytest.raises(PermanentError, match="domain-wide delegation"):
        await s.connector.check()


async def test_a_non_admin_subject_gets_no_token(setup: Any) -> None:
    s = await setup()
    want = await s.sim_get("/_sim/directory")
    plain = next(u["primary_email"] for u in want["users"] if not u["is_admin"])
    s2 = await setup(subject=plain)
    with pytest.raises(PermanentError, match=plain):
        await s2.connector.check()


async def test_a_key_of_another_service_account_is_refused(setup: Any, tmp_path: Path) -> None:
    s = await setup()
    other = make_sim()
    write_key(other, tmp_path / "other.json")
    s.connector.client.settings = s.connector.client.settings.model_copy(
        update={"credentials": s.connector.settings.credentials.model_copy(
            update={"file": tmp_path / "other.json"})}
    )  # fmt: skip
    with pytest.raises(PermanentError, match="Invalid JWT Signature"):
        await s.connector.check()


async def test_a_key_file_that_is_not_a_service_account_key_names_the_field(
    setup: Any, tmp_path: Path
) -> None:
    s = await setup()
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "authorized_user"}')
    s.connector.client.settings = s.connector.client.settings.model_copy(
        update={"credentials": s.connector.settings.credentials.model_copy(update={"file": bad})}
    )
    with pytest.raises(ConfigurationError, match=r"directories\.gw\.google\.credentials"):
        await s.connector.check()


@pytest.mark.parametrize(
    ("status", "reason", "retry_after"),
    [
        (403, "userRateLimitExceeded", None),
        (403, "rateLimitExceeded", None),
        (403, "quotaExceeded", None),
        (429, "rateLimitExceeded", 7),
        (503, "backendError", None),
    ],
)
async def test_throttling_is_retried_with_backoff_and_the_snapshot_completes(
    setup: Any, status: int, reason: str, retry_after: int | None
) -> None:
    s = await setup()
    storm = {"count": 3, "status": status, "reason": reason, "retry_after": retry_after}
    await s.sim_send("PUT", "/_sim/throttle", storm)
    snap = await collect(s.connector)
    assert len(snap.users) == 121
    refused = [e for e in await s.requests() if e["status"] == status]
    assert len(refused) == 3
    assert len(s.sleep.delays) == 3
    if retry_after is not None:
        assert all(d >= retry_after for d in s.sleep.delays)
    else:
        assert all(d > 0 for d in s.sleep.delays)


async def test_a_storm_longer_than_the_retries_fails_as_transient(setup: Any) -> None:
    s = await setup(attempts=3)
    await s.sim_send("PUT", "/_sim/throttle", {"count": 50})
    with pytest.raises(TransientError, match="userRateLimitExceeded"):
        await collect(s.connector)


async def test_the_per_minute_quota_answers_403_and_the_connector_waits_it_out(setup: Any) -> None:
    s = await setup(users_page_size=10, attempts=12)
    await s.sim_send("PUT", "/_sim/settings", {"quota_per_minute": 5})
    snap = await collect(s.connector)  # the fake sleep advances the simulator's clock
    assert len(snap.users) == 121
    refused = [e for e in await s.requests() if e["status"] == 403]
    assert refused, "the quota was hit"


async def test_an_expired_token_is_renewed_before_use(setup: Any) -> None:
    s = await setup(sim={"token_ttl": 120})
    await s.connector.check()
    s.clock.advance(200)
    await s.connector.check()
    tokens = await s.requests(op="token")
    assert len(tokens) == 2
    assert not [e for e in await s.requests() if e["status"] == 401]


async def test_a_revoked_token_is_replaced_once_on_401(setup: Any) -> None:
    s = await setup()
    await s.connector.check()
    await s.sim_send("DELETE", "/_sim/tokens")
    await s.connector.check()
    assert len(await s.requests(op="token")) == 2
    assert len([e for e in await s.requests() if e["status"] == 401]) == 1


async def test_the_login_can_be_the_local_part_of_the_primary_email(setup: Any) -> None:
    s = await setup(login_attribute="localPart")
    user = await s.connector.fetch_user((await s.sim_get("/_sim/directory"))["users"][1]["id"])
    assert user is not None
    assert user.email is not None
    assert user.login == user.email.split("@")[0]
    assert user.email != ADMIN


@pytest.mark.parametrize(
    ("google", "field"),
    [
        ({"subject": "admin@example.com"}, "directories.0.google.credentials"),
        ({"credentials": {"env": "X"}}, "directories.0.google.subject"),
        ({"credentials": {"env": "X"}, "subject": "a@b.c", "groups_page_size": 0},
         "directories.0.google.groups_page_size"),
        ({"credentials": {"env": "X"}, "subject": "a@b.c", "watch": {"ttl_seconds": 172801}},
         "directories.0.google.watch.ttl_seconds"),
        ({"credentials": {"env": "X", "file": "/k.json"}, "subject": "a@b.c"},
         "directories.0.google.credentials"),
    ],
)  # fmt: skip
def test_invalid_google_configuration_names_the_field(google: dict[str, Any], field: str) -> None:
    from roster.shared.config import parse_config

    with pytest.raises(ConfigurationError, match=field.replace(".", r"\.")):
        parse_config({"directories": [{"id": "gw", "kind": "google", "google": google}]})
    with pytest.raises(ConfigurationError, match="needs a 'google' section"):
        parse_config({"directories": [{"id": "gw", "kind": "google"}]})


async def test_with_derived_membership_a_users_groups_include_the_groups_around_them(
    setup: Any,
) -> None:
    s = await setup(include_derived_membership=True)
    await collect(s.connector)  # the snapshot learns the nesting
    want = await s.sim_get("/_sim/directory")
    parent, children = next((g, c) for g, c in want["nested"].items() if c)
    child = children[0]
    user = next(u for u in want["memberships"][child] if u not in want["memberships"][parent])
    groups = {g.id for g in await s.connector.user_groups(user)}
    assert {child, parent} <= groups
