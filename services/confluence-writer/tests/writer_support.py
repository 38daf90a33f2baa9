"""Helpers of the writer tests (uniquely named so it never clashes with other test dirs)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from roster.shared.config import RosterConfig, parse_config
from roster.shared.ids import command_id
from roster.shared.kafka import Delivery, RecordHandler
from roster.shared.messages.base import Message
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
    WriteCommand,
)

PASSWORD_ENV = "ROSTER_TEST_CONFLUENCE_PASSWORD"
TOKEN_ENV = "ROSTER_TEST_CONFLUENCE_TOKEN"
PASSWORD = "admin"
TOKEN = "pat-writer-test-7c1e"
BASE = "http://confluence.test:8090"
DEFAULT_REDIS = "redis://127.0.0.1:36379/0"
VERSIONS = ["7.13", "8.2", "8.4", "9.3"]
WRITE_METHODS = {"POST", "PUT", "DELETE", "PATCH"}


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS


class FakeClock:
    """Wall clock that only moves when someone sleeps; records every sleep."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.t = now
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


def make_config(
    url: str = BASE,
    *,
    prefix: str,
    version: str = "auto",
    dry_run: bool = False,
    token: bool = False,
) -> RosterConfig:
    auth: dict[str, Any] = (
        {"token": {"env": TOKEN_ENV}}
        if token
        else {"username": "admin", "password": {"env": PASSWORD_ENV}}
    )
    return parse_config(
        {
            "redis": {"url": redis_url(), "key_prefix": prefix},
            "confluence": {"url": url, "version": version, "dry_run": dry_run, "auth": auth},
        }
    )


RUN = "run-writer-test"


def cmd(kind: type[WriteCommand], run: str = RUN, **fields: Any) -> WriteCommand:
    target = fields.get("username", "") + "/" + fields.get("group", "")
    cid = command_id(run, kind.__name__, target, fields)
    return kind(run_id=run, command_id=cid, reason="test", **fields)


def scenario_seed() -> dict[str, Any]:
    return {
        "users": [
            {"username": "carol", "displayName": "Carol Old", "email": "carol@old.example.com",
             "groups": ["legacy"]},
            {"username": "dave", "displayName": "Dave", "email": "dave@example.com",
             "groups": ["legacy"]},
            {"username": "erin", "displayName": "Erin", "email": "erin@example.com"},
            {"username": "frank", "displayName": "Frank", "email": "frank@example.com",
             "active": False},
        ],
        "groups": ["legacy"],
    }  # fmt: skip


def scenario() -> list[WriteCommand]:
    """Every operation once, including a membership that overtakes its group's creation."""
    return [
        cmd(CreateGroup, group="team-a"),
        cmd(CreateUser, username="alice", display_name="Alice Example", email="alice@example.com"),
        cmd(CreateUser, username="bob", display_name="Bob Example", email="bob@example.com"),
        cmd(AddMembership, username="alice", group="team-a"),
        cmd(AddMembership, username="bob", group="team-b"),
        cmd(CreateGroup, group="team-b"),
        cmd(AddMembership, username="alice", group="team-b"),
        cmd(UpdateUser, username="carol", display_name="Carol New", email="carol@new.example.com"),
        cmd(DeactivateUser, username="dave"),
        cmd(RemoveMembership, username="dave", group="legacy"),
        cmd(ReactivateUser, username="frank"),
        cmd(DeleteUser, username="erin"),
        cmd(RemoveMembership, username="carol", group="legacy"),
        cmd(DeleteGroup, group="legacy"),
    ]


def normalise(state: dict[str, Any]) -> dict[str, Any]:
    """A simulator state without what differs between versions (user keys, login times)."""
    return {
        "users": sorted(
            (u["username"], u["displayName"], u["email"], u["active"]) for u in state["users"]
        ),
        "groups": sorted(state["groups"]),
        "memberships": {g: sorted(m) for g, m in sorted(state["memberships"].items())},
    }


def applied_twice(entries: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    counts = Counter(
        (e["op"], e["target"], e.get("group")) for e in entries if e["effect"] == "applied"
    )
    return [k for k, n in counts.items() if n > 1]


def non_get(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["method"] != "GET"]


@dataclass
class SimControl:
    """The simulator's `/_sim/*` routes over any transport."""

    client: httpx.AsyncClient

    async def seed(self, body: dict[str, Any]) -> None:
        response = await self.client.post("/_sim/users", json=body)
        assert response.status_code == 201, response.text

    async def state(self) -> dict[str, Any]:
        return dict((await self.client.get("/_sim/state")).json())

    async def log(self, since: int = 0) -> list[dict[str, Any]]:
        return list((await self.client.get(f"/_sim/requests?since={since}")).json()["entries"])

    async def faults(self, **faults: Any) -> None:
        response = await self.client.put("/_sim/faults", json=faults)
        assert response.status_code == 200, response.text

    async def ratelimit(self, **settings: Any) -> None:
        response = await self.client.put("/_sim/ratelimit", json=settings)
        assert response.status_code == 200, response.text

    async def seats(self, seats: int | None) -> None:
        response = await self.client.put("/_sim/seats", json={"seats": seats})
        assert response.status_code == 200, response.text


@dataclass
class FakeRuntime:
    """Stands in for KafkaRuntime in handler tests: runs each record once, keeps publishes."""

    published: list[tuple[str, str, Message]] = field(default_factory=list)
    active: int = 0
    peak: int = 0

    async def run_one(self, delivery: Delivery, handle: RecordHandler, *, group: str) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await handle(delivery.message)
        finally:
            self.active -= 1

    async def publish(self, family: str, message: Message, *, key: str) -> None:
        self.published.append((family, key, message))

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None:
        for key, message in items:
            self.published.append((family, key, message))


def delivery(message: Message, key: str, offset: int = 0) -> Delivery:
    return Delivery(
        topic="roster.confluence-commands",
        partition=0,
        offset=offset,
        key=key,
        value=message.model_dump_json().encode(),
        message=message,
    )


def bulk_seed(n: int = 12) -> dict[str, Any]:
    users = [
        {"username": f"old{i:02d}", "displayName": f"Old {i}", "email": f"old{i}@example.com",
         "groups": ["legacy"] + (["crew-0"] if i % 2 else [])}
        for i in range(n)
    ]  # fmt: skip
    return {"users": users, "groups": ["legacy", "crew-0"]}


def bulk_scenario(users: int = 24, old: int = 12) -> list[WriteCommand]:
    """Creates, memberships (some before their group), updates, deactivations, deletions."""
    out: list[WriteCommand] = []
    for g in range(1, 4):
        out.append(cmd(CreateGroup, group=f"crew-{g}"))
    for i in range(users):
        name = f"new{i:02d}"
        out.append(cmd(CreateUser, username=name, display_name=f"New {i}",
                       email=f"{name}@example.com"))  # fmt: skip
        out.append(cmd(AddMembership, username=name, group=f"crew-{i % 4}"))
        out.append(cmd(AddMembership, username=name, group="crew-late"))
    out.append(cmd(CreateGroup, group="crew-late"))
    for i in range(old):
        name = f"old{i:02d}"
        if i % 4 == 0:
            out.append(cmd(UpdateUser, username=name, display_name=f"Old {i} Renamed",
                           email=f"{name}@new.example.com"))  # fmt: skip
        elif i % 4 == 1:
            out.append(cmd(DeactivateUser, username=name))
            out.append(cmd(RemoveMembership, username=name, group="crew-0"))
        elif i % 4 == 2:
            out.append(cmd(DeleteUser, username=name))
        out.append(cmd(RemoveMembership, username=name, group="legacy"))
    return out


def by_key(commands: Sequence[WriteCommand]) -> list[Delivery]:
    return [delivery(c, c.key, offset=n) for n, c in enumerate(commands)]
