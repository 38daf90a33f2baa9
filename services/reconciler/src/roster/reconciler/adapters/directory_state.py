"""Redis store of each directory's state (the IdP's current view) and of delta runs' events.

`rec:dir:{d}:users|groups|members:{gid}` (a run snapshot's layout, copied server side with
`COPY` in one Lua script); `rec:dir:{d}:head`: the newest run whose snapshot builds on it;
a delta run's events `rec:snap:{run}:events` and scope `rec:snap:{run}:scope`. Decides nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast

import redis.asyncio as redis

from roster.reconciler.adapters.snapshots import DAY_SECONDS, RunMeta, SnapshotStore
from roster.reconciler.adapters.text import fields
from roster.reconciler.core.delta import (
    DELTA_EVENTS,
    DeltaEvent,
    DeltaScope,
    SnapshotDiff,
    keep_affected,
)
from roster.reconciler.core.plan import Plan
from roster.shared.messages.directory import directory_event_adapter
from roster.shared.redisdb import Keys

# ARGV: source prefix, destination prefix, ttl (0 = persist), head key, run id ("" = no check).
# Key names are built inside the script: this store expects a single Redis, not a cluster.
_COPY = """
local src, dst, ttl, head, run = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
if run ~= '' and redis.call('GET', head) ~= run then return 0 end
if redis.call('EXISTS', src .. 'groups') == 0 and redis.call('EXISTS', src .. 'users') == 0 then
  return -1
end
for _, g in ipairs(redis.call('HKEYS', dst .. 'groups')) do
  redis.call('DEL', dst .. 'members:' .. g)
end
redis.call('DEL', dst .. 'users', dst .. 'groups')
local function cp(a, b)
  if redis.call('COPY', a, b, 'REPLACE') == 1 then
    if ttl > 0 then redis.call('EXPIRE', b, ttl) else redis.call('PERSIST', b) end
  end
end
cp(src .. 'users', dst .. 'users')
cp(src .. 'groups', dst .. 'groups')
for _, g in ipairs(redis.call('HKEYS', src .. 'groups')) do
  cp(src .. 'members:' .. g, dst .. 'members:' .. g)
end
return 1
"""


class DirectoryStateStore:
    def __init__(self, client: redis.Redis, keys: Keys, *, ttl_seconds: int = DAY_SECONDS) -> None:
        self.redis = client
        self.keys = keys
        self.ttl = ttl_seconds
        self._copy = client.register_script(_COPY)

    @classmethod
    def of(cls, store: SnapshotStore) -> DirectoryStateStore:
        """The state store next to a run snapshot store (same client, prefix and TTL)."""
        return cls(store.redis, store.keys, ttl_seconds=store.ttl)

    # ------------------------------------------------------------ the planner's two hooks

    async def filter_plan(self, result: Plan, meta: RunMeta) -> Plan:
        """A delta or single run keeps only what is about its affected users and groups
        (no stored scope: nothing is in scope)."""
        if meta.mode == "full":
            return result
        return keep_affected(result, await self.scope(meta.run_id) or DeltaScope())

    async def settle(self, meta: RunMeta, outcome: str | None) -> None:
        """After the commands went out: a planned (not dry, not held) run's snapshot becomes
        the directory state, unless a later snapshot already builds on it."""
        if not meta.dry_run and outcome == "planned":
            await self.promote(meta.run_id, meta.directory)

    def state_prefix(self, directory: str) -> tuple[str, ...]:
        return ("rec", "dir", directory)

    def run_prefix(self, run_id: str) -> tuple[str, ...]:
        return ("rec", "snap", run_id)

    def _p(self, parts: tuple[str, ...]) -> str:
        return self.keys(*parts) + ":"

    def _head(self, directory: str) -> str:
        return self.keys("rec", "dir", directory, "head")

    # ------------------------------------------------------------ state and head

    async def head(self, directory: str) -> str | None:
        value = await self.redis.get(self._head(directory))
        return None if value is None else cast(str, value)

    async def set_head(self, directory: str, run_id: str) -> None:
        await self.redis.set(self._head(directory), run_id)

    async def has_state(self, directory: str) -> bool:
        parts = self.state_prefix(directory)
        return bool(
            await self.redis.exists(self.keys(*parts, "users"), self.keys(*parts, "groups"))
        )

    async def promote(self, run_id: str, directory: str) -> bool:
        """Make the run's snapshot the directory state, if the run is still the head (a
        later snapshot already builds on it otherwise). True when it was copied."""
        args: list[str | int] = [
            self._p(self.run_prefix(run_id)),
            self._p(self.state_prefix(directory)),
            0,
            self._head(directory),
            run_id,
        ]
        return int(await self._copy(keys=[], args=args)) == 1

    async def copy_into_run(self, source: tuple[str, ...], run_id: str) -> bool:
        """Copy a snapshot (the state or another run's) under `run_id`, expiring like runs."""
        args: list[str | int] = [
            self._p(source),
            self._p(self.run_prefix(run_id)),
            self.ttl,
            "",
            "",
        ]
        return int(await self._copy(keys=[], args=args)) == 1

    async def write_diff(self, run_id: str, diff: SnapshotDiff) -> None:
        """Apply the diff to the run's (copied) snapshot, in one round trip."""
        run = self.run_prefix(run_id)
        users, groups = self.keys(*run, "users"), self.keys(*run, "groups")
        pipe = self.redis.pipeline(transaction=True)
        if diff.put_users:
            pipe.hset(
                users, mapping=fields({u.subject: u.model_dump_json() for u in diff.put_users})
            )
        if diff.drop_users:
            pipe.hdel(users, *diff.drop_users)
        if diff.put_groups:
            pipe.hset(groups, mapping=fields({g.id: g.model_dump_json() for g in diff.put_groups}))
        for group_id in diff.drop_groups:
            pipe.hdel(groups, group_id)
            pipe.delete(self.keys(*run, "members", group_id))
        for group_id, subjects in diff.add_members.items():
            pipe.sadd(self.keys(*run, "members", group_id), *subjects)
        for group_id, subjects in diff.remove_members.items():
            pipe.srem(self.keys(*run, "members", group_id), *subjects)
        for key in (users, groups, *(self.keys(*run, "members", g) for g in diff.add_members)):
            pipe.expire(key, self.ttl)
        await pipe.execute()

    # ------------------------------------------------------------ a delta run's events

    async def push_events(self, events: Sequence[DeltaEvent]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for event in events:
            key = self.keys(*self.run_prefix(event.run_id), "events")
            pipe.rpush(key, event.model_dump_json())
            pipe.expire(key, self.ttl)
        await pipe.execute()

    async def events(self, run_id: str) -> list[DeltaEvent]:
        key = self.keys(*self.run_prefix(run_id), "events")
        raw = cast(list[str], await self.redis.lrange(key, 0, -1))
        parsed = (directory_event_adapter.validate_json(r) for r in raw)
        return [e for e in parsed if isinstance(e, DELTA_EVENTS)]

    async def drop_events(self, run_id: str) -> None:
        run = self.run_prefix(run_id)
        await self.redis.delete(self.keys(*run, "events"), self.keys(*run, "scope"))

    async def store_scope(self, run_id: str, scope: DeltaScope) -> None:
        document = {
            "subjects": sorted(scope.subjects),
            "usernames": sorted(scope.usernames),
            "groups": sorted(scope.groups),
            "read_groups": sorted(scope.read_groups),
        }
        key = self.keys(*self.run_prefix(run_id), "scope")
        await self.redis.set(key, json.dumps(document), ex=self.ttl)

    async def scope(self, run_id: str) -> DeltaScope | None:
        raw = await self.redis.get(self.keys(*self.run_prefix(run_id), "scope"))
        if raw is None:
            return None
        data = json.loads(raw)
        return DeltaScope(
            subjects=frozenset(data["subjects"]),
            usernames=frozenset(data["usernames"]),
            groups=frozenset(data["groups"]),
            read_groups=frozenset(data["read_groups"]),
        )
