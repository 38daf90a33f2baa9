"""Redis store of a run's two snapshots: the IdP's as it arrives, Confluence's in pages.

Keys (behind the prefix, all expiring after `ttl_seconds`): `rec:snap:{run}:meta` / `:users` /
`:groups` / `:members:{group_id}` and `rec:cf:{run}:meta` / `:users` / `:groups` /
`:members:{group}`. Writes are pipelined, reads parse whole hashes at once: a snapshot can
hold 100,000 users. Decides nothing about a snapshot's meaning; `core` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis.asyncio as redis
from pydantic import TypeAdapter

from roster.reconciler.adapters.text import fields, hgetall, hkeys, smembers
from roster.reconciler.core.state import ActualState, IdpSnapshot, Owner
from roster.shared.messages.directory import (
    GroupObserved,
    IdpGroup,
    IdpUser,
    SnapshotCompleted,
    SnapshotStarted,
    UserObserved,
)
from roster.shared.messages.state import ConfluenceStatePage, ConfluenceUser
from roster.shared.redisdb import Keys

DAY_SECONDS = 86_400
_IDP_USERS = TypeAdapter(list[IdpUser])
_IDP_GROUPS = TypeAdapter(list[IdpGroup])
_CF_USERS = TypeAdapter(list[ConfluenceUser])
Observation = UserObserved | GroupObserved


@dataclass(frozen=True)
class SnapshotCounts:
    users: int
    groups: int
    memberships: int


@dataclass(frozen=True)
class RunMeta:
    """What the reconciler knows of a run from its `SnapshotStarted`."""

    run_id: str
    directory: str
    mode: str
    dry_run: bool
    trigger: str
    status: str
    """started, completed or failed."""


def _json_list(values: Sequence[str]) -> str:
    return "[" + ",".join(values) + "]"


class SnapshotStore:
    def __init__(self, client: redis.Redis, keys: Keys, *, ttl_seconds: int = DAY_SECONDS) -> None:
        self.redis = client
        self.keys = keys
        self.ttl = ttl_seconds

    def _snap(self, run_id: str, *parts: str) -> str:
        return self.keys("rec", "snap", run_id, *parts)

    def _cf(self, run_id: str, *parts: str) -> str:
        return self.keys("rec", "cf", run_id, *parts)

    # ---------------------------------------------------------------- IdP snapshot

    async def _drop(self, run_id: str, *parts: str) -> None:
        groups = await hkeys(self.redis, self._snap(run_id, "groups"))
        members = [self._snap(run_id, "members", g) for g in groups]
        await self.redis.delete(*(self._snap(run_id, p) for p in parts), *members)

    async def start(self, event: SnapshotStarted) -> None:
        """Forget what an earlier attempt of this run stored, then record the run.

        Confluence pages of the run are kept: an answer to an earlier read may still be
        arriving, and two reads of one run merge harmlessly (pages are numbered)."""
        await self._drop(event.run_id, "meta", "users", "groups")
        meta = {
            "directory": event.directory,
            "mode": event.mode,
            "dry_run": "1" if event.dry_run else "0",
            "trigger": event.trigger,
            "status": "started",
        }
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self._snap(event.run_id, "meta"), mapping=fields(meta))
        pipe.expire(self._snap(event.run_id, "meta"), self.ttl)
        await pipe.execute()

    async def observe(self, events: Sequence[Observation]) -> None:
        """Store users and member chunks of any runs in one round trip."""
        users: dict[str, dict[str, str]] = {}
        groups: dict[str, dict[str, str]] = {}
        members: dict[str, set[str]] = {}
        for event in events:
            if isinstance(event, UserObserved):
                key = self._snap(event.run_id, "users")
                users.setdefault(key, {})[event.user.subject] = event.user.model_dump_json()
            else:
                key = self._snap(event.run_id, "groups")
                groups.setdefault(key, {})[event.group.id] = event.group.model_dump_json()
                mkey = self._snap(event.run_id, "members", event.group.id)
                members.setdefault(mkey, set()).update(event.members)
        pipe = self.redis.pipeline(transaction=False)
        for key, mapping in (users | groups).items():
            pipe.hset(key, mapping=fields(mapping))
            pipe.expire(key, self.ttl)
        for key, subjects in members.items():
            if subjects:
                pipe.sadd(key, *subjects)
                pipe.expire(key, self.ttl)
        await pipe.execute()

    async def complete(self, event: SnapshotCompleted) -> SnapshotCounts:
        """Mark the snapshot complete; returns what was actually stored, to compare."""
        counts = await self.stored_counts(event.run_id)
        await self.redis.hset(self._snap(event.run_id, "meta"), "status", "completed")
        return counts

    async def fail(self, run_id: str) -> None:
        """Keep the meta (status failed) and drop the bulk of the snapshot."""
        await self._drop(run_id, "users", "groups")
        await self.redis.hset(self._snap(run_id, "meta"), "status", "failed")

    async def meta(self, run_id: str) -> RunMeta | None:
        raw: dict[str, str] = await hgetall(self.redis, self._snap(run_id, "meta"))
        if "directory" not in raw:
            return None
        return RunMeta(
            run_id=run_id,
            directory=raw["directory"],
            mode=raw.get("mode", "full"),
            dry_run=raw.get("dry_run") == "1",
            trigger=raw.get("trigger", ""),
            status=raw.get("status", "started"),
        )

    async def stored_counts(self, run_id: str) -> SnapshotCounts:
        groups = await hkeys(self.redis, self._snap(run_id, "groups"))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hlen(self._snap(run_id, "users"))
        for group in groups:
            pipe.scard(self._snap(run_id, "members", group))
        users, *sizes = await pipe.execute()
        return SnapshotCounts(users=int(users), groups=len(groups), memberships=sum(sizes))

    async def load_idp(self, run_id: str) -> IdpSnapshot:
        users: dict[str, str] = await hgetall(self.redis, self._snap(run_id, "users"))
        groups: dict[str, str] = await hgetall(self.redis, self._snap(run_id, "groups"))
        ids = list(groups)
        pipe = self.redis.pipeline(transaction=False)
        for group_id in ids:
            pipe.smembers(self._snap(run_id, "members", group_id))
        member_sets: list[set[str]] = await pipe.execute() if ids else []
        return IdpSnapshot(
            users=tuple(_IDP_USERS.validate_json(_json_list(list(users.values())))),
            groups=tuple(_IDP_GROUPS.validate_json(_json_list(list(groups.values())))),
            members={g: frozenset(m) for g, m in zip(ids, member_sets, strict=True)},
        )

    # ---------------------------------------------------------------- Confluence snapshot

    async def add_page(self, page: ConfluenceStatePage) -> None:
        run_id = page.run_id
        meta = {f"page:{page.page}": "1"}
        meta |= {f"members:{g.lower()}": "1" for g in page.members}
        pipe = self.redis.pipeline(transaction=False)
        writes: dict[str, dict[str, str]] = {self._cf(run_id, "meta"): meta}
        if page.users:
            writes[self._cf(run_id, "users")] = {
                u.username.lower(): u.model_dump_json() for u in page.users
            }
        for key, mapping in writes.items():
            pipe.hset(key, mapping=fields(mapping))
            pipe.expire(key, self.ttl)
        sets = {self._cf(run_id, "groups"): {g.lower() for g in page.groups}}
        for group, usernames in page.members.items():
            sets[self._cf(run_id, "members", group.lower())] = {u.lower() for u in usernames}
        for key, values in sets.items():
            if values:
                pipe.sadd(key, *values)
                pipe.expire(key, self.ttl)
        await pipe.execute()

    async def _cf_member_groups(self, run_id: str) -> list[str]:
        names = await hkeys(self.redis, self._cf(run_id, "meta"))
        return [f.removeprefix("members:") for f in names if f.startswith("members:")]

    async def pages(self, run_id: str) -> int:
        names = await hkeys(self.redis, self._cf(run_id, "meta"))
        return sum(1 for f in names if f.startswith("page:"))

    async def load_confluence(self, run_id: str, owners: Mapping[str, Owner]) -> ActualState:
        users: dict[str, str] = await hgetall(self.redis, self._cf(run_id, "users"))
        groups: set[str] = await smembers(self.redis, self._cf(run_id, "groups"))
        names = await self._cf_member_groups(run_id)
        pipe = self.redis.pipeline(transaction=False)
        for group in names:
            pipe.smembers(self._cf(run_id, "members", group))
        member_sets: list[set[str]] = await pipe.execute() if names else []
        return ActualState.of(
            users=_CF_USERS.validate_json(_json_list(list(users.values()))),
            groups=groups,
            members=dict(zip(names, member_sets, strict=True)),
            owners=owners,
        )
