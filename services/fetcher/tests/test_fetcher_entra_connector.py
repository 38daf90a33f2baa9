"""Entra connector against the Graph simulator over httpx: full snapshot (paging, guests,
users without mail, direct and transitive membership), token expiry, 429 storms with
Retry-After, and `fetch_user` / `user_groups` / `check`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fetcher_support import FakeClock, FakeSleep, collect, hooks

from roster.fetcher.connectors.entra import EntraConnector
from roster.fetcher.connectors.registry import connector_for
from roster.shared.config import DirectorySettings
from roster.shared.errors import PermanentError, RejectedError, TransientError
from roster.simulators.entra import EntraSimConfig, EntraSimulator, create_app

SECRET = "entra-test-secret-41c7"
SECRET_ENV = "ROSTER_TEST_ENTRA_SECRET"
GRAPH = "http://graph.test"


def entra_settings(
    sim: EntraSimulator, *, page_size: int = 999, membership: str = "direct", **extra: Any
) -> DirectorySettings:
    return DirectorySettings.model_validate(
        {
            "id": "entra-test",
            "kind": "entra",
            "entra": {
                "tenant_id": sim.state.config.tenant_id,
                "client_id": sim.state.config.client_id,
                "client_secret": {"env": SECRET_ENV},
                "graph_url": GRAPH,
                "login_url": GRAPH,
                "page_size": page_size,
                "membership": membership,
                **extra,
            },
        }
    )


def make_sim(**overrides: Any) -> EntraSimulator:
    options: dict[str, Any] = {
        "client_secret": SECRET,
        "users": 230,
        "groups": 12,
        "memberships": 900,
        "seed": 11,
        "clock": FakeClock(),
    }
    options.update(overrides)
    return create_app(EntraSimConfig(**options))


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


@pytest.fixture
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []
    yield made
    for client in made:
        await client.aclose()


def connect(
    sim: EntraSimulator,
    clients: list[httpx.AsyncClient],
    *,
    sleep: FakeSleep | None = None,
    attempts: int = 6,
    clock: FakeClock | None = None,
    **settings: Any,
) -> tuple[EntraConnector, httpx.AsyncClient]:
    """A connector on `sim`, and a control client for its `/_sim/` routes."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url=GRAPH)
    clients.append(http)
    connector = connector_for(
        entra_settings(sim, **settings),
        http,
        hooks=hooks(sleep=sleep, attempts=attempts, clock=clock),
    )
    assert isinstance(connector, EntraConnector)
    return connector, http


def graph_requests(sim: EntraSimulator, **match: Any) -> list[dict[str, Any]]:
    return [
        e
        for e in sim.state.requests.entries()
        if e["op"] == "graph" and all(e.get(k) == v for k, v in match.items())
    ]


async def test_snapshot_matches_the_tenant_across_pages(
    clients: list[httpx.AsyncClient],
) -> None:
    sim = make_sim()
    connector, http = connect(sim, clients, page_size=50)
    snap = await collect(connector)
    view = (await http.get("/_sim/directory")).json()
    assert {u.subject for u in snap.users} == {u["id"] for u in view["users"]}
    assert len(snap.users) == 230
    by_id = {u["id"]: u for u in view["users"]}
    for user in snap.users:
        raw = by_id[user.subject]
        assert user.login == raw["userPrincipalName"]
        assert user.email == raw["mail"]
        assert user.active == raw["accountEnabled"]
        assert user.display_name == raw["displayName"]
    guests = [u for u in snap.users if "#EXT#" in u.login]
    assert guests
    assert all(u.attributes["userType"] == "Guest" for u in guests)
    assert any(u.email is None for u in snap.users)
    assert any(not u.active for u in snap.users)
    assert {g.id: g.name for g in snap.groups} == {
        g["id"]: g["displayName"] for g in view["groups"]
    }
    assert {g: set(m) for g, m in snap.members.items()} == {
        g: set(m) for g, m in view["memberships"].items()
    }
    # users paged at $top=50 with $select (accountEnabled needs it), nextLink followed
    user_pages = graph_requests(sim, path="/v1.0/users")
    assert len(user_pages) == 5
    assert all("%24select=" in e["query"] and "%24top=50" in e["query"] for e in user_pages)
    assert sum("skiptoken" in e["query"] for e in user_pages) == 4
    # the big group needs several member pages; its pages stay consecutive
    assert any(len([p for p in snap.pages if p.group.id == g]) > 1 for g in snap.members)


async def test_transitive_membership_includes_nested_groups_users(
    clients: list[httpx.AsyncClient],
) -> None:
    sim = make_sim()
    connector, http = connect(sim, clients, membership="transitive")
    snap = await collect(connector)
    view = (await http.get("/_sim/directory")).json()
    nested = {g: kids for g, kids in view["nested"].items() if kids}
    assert nested, "the generated tenant has nested groups"
    for parent, kids in nested.items():
        want = set(view["memberships"][parent])
        stack = list(kids)
        while stack:
            kid = stack.pop()
            want |= set(view["memberships"][kid])
            stack += view["nested"][kid]
        assert set(snap.members[parent]) == want
        assert want > set(view["memberships"][parent])
    assert graph_requests(sim, path=f"/v1.0/groups/{next(iter(nested))}/transitiveMembers")


async def test_expired_token_is_renewed_once_and_the_snapshot_completes(
    clients: list[httpx.AsyncClient],
) -> None:
    sim = make_sim()
    connector, http = connect(sim, clients, page_size=40)
    expired_at: list[int] = []

    async def expire_midway(index: int, item: Any) -> None:
        if index == 100:
            expired_at.append((await http.post("/_sim/token/expire")).json()["expired"])

    snap = await collect(connector, on_item=expire_midway)
    assert len(snap.users) == 230
    assert expired_at == [1]
    assert sim.state.tokens.issued == 2
    assert len(graph_requests(sim, status=401)) == 1


async def test_429_storm_is_retried_after_retry_after(clients: list[httpx.AsyncClient]) -> None:
    sim = make_sim()
    sleep = FakeSleep()
    connector, http = connect(sim, clients, sleep=sleep)
    await http.put("/_sim/throttle", json={"storm": 3, "storm_retry_after": 7})
    snap = await collect(connector)
    assert len(snap.users) == 230
    throttled = graph_requests(sim, status=429)
    assert len(throttled) == 3
    assert sleep.delays[:3]
    assert all(d >= 7 for d in sleep.delays[:3])


async def test_429_storm_longer_than_the_attempts_fails_transient(
    clients: list[httpx.AsyncClient],
) -> None:
    sim = make_sim()
    connector, http = connect(sim, clients, attempts=3)
    await http.put("/_sim/throttle", json={"storm": 10, "storm_retry_after": 1})
    with pytest.raises(TransientError, match="429"):
        await collect(connector)


async def test_resource_unit_bucket_throttles_and_the_snapshot_still_completes(
    clients: list[httpx.AsyncClient],
) -> None:
    clock = FakeClock()
    sim = make_sim(clock=clock, rate_limit_ru=12)
    sleep = FakeSleep(clock)  # waiting advances the simulator's clock: the bucket drains
    connector, _ = connect(sim, clients, sleep=sleep, page_size=25)
    snap = await collect(connector)
    assert len(snap.users) == 230
    assert sim.state.throttle.throttled > 0
    throttled = graph_requests(sim, status=429)
    assert throttled
    assert len(sleep.delays) >= len(throttled)


async def test_bad_secret_is_permanent_and_names_the_app(
    clients: list[httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim()
    connector, _ = connect(sim, clients)
    monkeypatch.setenv(SECRET_ENV, "wrong")
    with pytest.raises(PermanentError, match=sim.state.config.client_id):
        await connector.check()


async def test_403_names_the_missing_permission(clients: list[httpx.AsyncClient]) -> None:
    sim = make_sim()
    connector, http = connect(sim, clients, attempts=1)
    faults = {"error_rate": 1.0, "error_status": 403, "methods": ["GET"]}
    await http.put("/_sim/faults", json=faults)
    with pytest.raises(RejectedError, match="User.Read.All"):
        await connector.check()


async def test_fetch_user_and_user_groups(clients: list[httpx.AsyncClient]) -> None:
    sim = make_sim()
    connector, http = connect(sim, clients)
    view = (await http.get("/_sim/directory")).json()
    member_of: dict[str, set[str]] = {}
    for group_id, members in view["memberships"].items():
        for subject in members:
            member_of.setdefault(subject, set()).add(group_id)
    subject = max(member_of, key=lambda s: len(member_of[s]))
    user = await connector.fetch_user(subject)
    assert user is not None
    assert user.subject == subject
    assert {g.id for g in await connector.user_groups(subject)} == member_of[subject]
    assert await connector.fetch_user("00000000-0000-0000-0000-000000000000") is None
    assert await connector.user_groups("00000000-0000-0000-0000-000000000000") == []


async def test_dropped_connections_over_real_sockets_are_retried() -> None:
    from roster.simulators.common.serving import Servers

    sim = make_sim(users=120)
    servers = Servers()
    url = await servers.start(sim)
    try:
        sim.state.faults = sim.state.faults.model_copy(update={"drop_rate": 0.25, "seed": 4})
        settings = entra_settings(sim, page_size=20)
        entra = settings.entra
        assert entra is not None
        settings = settings.model_copy(
            update={"entra": entra.model_copy(update={"graph_url": url, "login_url": url})}
        )
        async with httpx.AsyncClient() as http:
            connector = connect_settings(settings, http)
            snap = await collect(connector)
        assert len(snap.users) == 120
        dropped = [e for e in sim.state.requests.entries() if e["effect"] == "dropped"]
        assert dropped
    finally:
        await servers.close()


def connect_settings(settings: DirectorySettings, http: httpx.AsyncClient) -> EntraConnector:
    connector = connector_for(settings, http, hooks=hooks(attempts=10))
    assert isinstance(connector, EntraConnector)
    return connector


def test_settings_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="renew_before_minutes"):
        DirectorySettings.model_validate(
            {"id": "e", "kind": "entra", "entra": {
                "tenant_id": "t", "client_id": "c", "client_secret": {"env": "X"},
                "subscriptions": {"lifetime_minutes": 60, "renew_before_minutes": 60}}}
        )  # fmt: skip
    with pytest.raises(ValueError, match="page_size"):
        DirectorySettings.model_validate(
            {"id": "e", "kind": "entra", "entra": {
                "tenant_id": "t", "client_id": "c", "client_secret": {"env": "X"},
                "page_size": 1000}}
        )  # fmt: skip
    with pytest.raises(ValueError, match="entra"):
        DirectorySettings.model_validate({"id": "e", "kind": "entra"})


async def test_token_is_renewed_before_it_expires(clients: list[httpx.AsyncClient]) -> None:
    sim_clock = FakeClock()
    sim = make_sim(clock=sim_clock)
    own = FakeClock()
    connector, _ = connect(sim, clients, clock=own)
    await connector.check()
    assert sim.state.tokens.issued == 1
    own.advance(3000)  # inside the 3599 s lifetime and its safety margin: same token
    sim_clock.advance(3000)
    await connector.check()
    assert sim.state.tokens.issued == 1
    own.advance(400)  # within 300 s of expiry: a new token first, no 401 on the way
    sim_clock.advance(400)
    await connector.check()
    assert sim.state.tokens.issued == 2
    assert graph_requests(sim, status=401) == []
