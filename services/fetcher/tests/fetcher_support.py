"""Helpers for the fetcher tests (a uniquely named module, so it never clashes with others)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from roster.fetcher.connectors.base import Connector, ConnectorHooks
from roster.fetcher.connectors.http import RetrySettings
from roster.fetcher.core.snapshot import GroupMembers
from roster.shared.config import DirectorySettings
from roster.shared.delivery import RetryPolicy
from roster.shared.messages.directory import IdpGroup, IdpUser

SECRET = "kc-test-secret-9f2c"
SECRET_ENV = "ROSTER_TEST_KC_SECRET"
BASE_URL = "http://keycloak.test"
ADMIN = "/admin/realms/roster"


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """Records every delay and returns at once (optionally advancing a fake clock)."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.delays: list[float] = []
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)
        await asyncio.sleep(0)


def hooks(
    *, clock: Callable[[], float] | None = None, sleep: FakeSleep | None = None, attempts: int = 6
) -> ConnectorHooks:
    policy = RetryPolicy(base_delay=0.5, max_delay=20.0, jitter=0.25)
    return ConnectorHooks(
        sleep=sleep or FakeSleep(),
        clock=clock or FakeClock(),
        retry=RetrySettings(max_attempts=attempts, policy=policy),
    )


def directory_settings(
    *,
    directory: str = "kc",
    base_url: str = BASE_URL,
    page_size: int = 100,
    secret_env: str = SECRET_ENV,
    realm: str = "roster",
) -> DirectorySettings:
    return DirectorySettings.model_validate(
        {
            "id": directory,
            "kind": "keycloak",
            "keycloak": {
                "base_url": base_url,
                "realm": realm,
                "client_id": "roster-sync",
                "client_secret": {"env": secret_env},
                "page_size": page_size,
            },
        }
    )


@dataclass
class Snapshot:
    users: list[IdpUser] = field(default_factory=list)
    groups: list[IdpGroup] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)
    pages: list[GroupMembers] = field(default_factory=list)


async def collect(
    connector: Connector, on_item: Callable[[int, Any], Awaitable[None]] | None = None
) -> Snapshot:
    """Drain a snapshot, checking the stream contract as it goes."""
    snap = Snapshot()
    open_group: str | None = None
    for_index = 0
    async for item in connector.snapshot():
        if on_item is not None:
            await on_item(for_index, item)
        for_index += 1
        if isinstance(item, IdpUser):
            assert not snap.groups, "users must all come before groups"
            snap.users.append(item)
            continue
        snap.pages.append(item)
        gid = item.group.id
        if open_group is None:
            assert gid not in snap.members, f"group {gid} listed twice"
            snap.groups.append(item.group)
            snap.members[gid] = []
            open_group = gid
        assert open_group == gid, "a group's pages must be consecutive"
        snap.members[gid].extend(item.members)
        if item.last:
            open_group = None
    assert open_group is None, "stream ended inside a group"
    return snap


def expected_from(directory: dict[str, Any]) -> Snapshot:
    """The snapshot a correct connector reads, from the simulator's `/_sim/directory`."""
    snap = Snapshot()
    for u in directory["users"]:
        first, last = u["first_name"] or None, u["last_name"] or None
        snap.users.append(
            IdpUser(
                subject=u["id"],
                login=u["username"],
                email=u["email"] or None,
                given_name=first,
                family_name=last,
                display_name=" ".join(p for p in (first, last) if p) or None,
                active=u["enabled"],
                attributes=dict(u["attributes"]),
            )
        )
    by_id = {g["id"]: g for g in directory["groups"]}

    def path(g: dict[str, Any]) -> str:
        parent = by_id.get(g["parent_id"]) if g["parent_id"] else None
        return (path(parent) if parent else "") + "/" + g["name"]

    for g in directory["groups"]:
        snap.groups.append(
            IdpGroup(id=g["id"], name=g["name"], path=path(g), parent_id=g["parent_id"])
        )
    snap.members = {gid: sorted(m) for gid, m in directory["memberships"].items()}
    return snap


def assert_same_directory(got: Snapshot, want: Snapshot) -> None:
    assert len(got.users) == len({u.subject for u in got.users}), "duplicate users"
    assert {u.subject: u for u in got.users} == {u.subject: u for u in want.users}
    assert {g.id: g for g in got.groups} == {g.id: g for g in want.groups}
    assert {k: sorted(v) for k, v in got.members.items()} == want.members
    seen: set[str] = set()
    for group in got.groups:  # parents before children
        assert group.parent_id is None or group.parent_id in seen
        seen.add(group.id)


class Intercept:
    """ASGI wrapper around a simulator: answers matching requests itself (429, 403, 404 …).

    `rule(method, path, count)` returns (status, headers) to answer with, or None to pass the
    request on; `count` is how many requests matched the path so far.
    """

    def __init__(
        self, app: ASGIApp, rule: Callable[[str, str, int], tuple[int, dict[str, str]] | None]
    ) -> None:
        self.app = app
        self.rule = rule
        self.counts: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_sim/"):
            path = scope["path"]
            self.counts[path] = self.counts.get(path, 0) + 1
            answer = self.rule(scope["method"], path, self.counts[path])
            if answer is not None:
                status, headers = answer
                raw = [(k.encode(), v.encode()) for k, v in headers.items()]
                raw.append((b"content-type", b"application/json"))
                await send({"type": "http.response.start", "status": status, "headers": raw})
                await send({"type": "http.response.body", "body": b'{"error":"intercepted"}'})
                return
        await self.app(scope, receive, send)


def asgi_client(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
