"""SCIM resources of one directory in Redis, and the stream of the changes they made.

`fetcher:scim:{d}:users|groups` (id → JSON), `…:names` (casefolded userName/displayName → id),
`…:changes` (stream). Each write is one Lua script: compare the stored JSON (optimistic, a lost
race retries), claim the name (of two racing POSTs one gets `conflict`), write, `XADD`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis.asyncio as redis
from redis.exceptions import RedisError, ResponseError

from roster.fetcher.scim.schemas import Json, ResourceKind
from roster.shared.errors import TransientError
from roster.shared.redisdb import Keys

Outcome = Literal["ok", "exists", "missing", "stale", "conflict"]

_WRITE = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if cur then return 'exists' end
else
  if not cur then return 'missing' end
  if cur ~= ARGV[2] then return 'stale' end
end
if ARGV[5] ~= '' and ARGV[5] ~= ARGV[4] then
  local owner = redis.call('HGET', KEYS[2], ARGV[5])
  if owner and owner ~= ARGV[1] then return 'conflict' end
end
if ARGV[4] ~= '' and ARGV[4] ~= ARGV[5] then
  if redis.call('HGET', KEYS[2], ARGV[4]) == ARGV[1] then
    redis.call('HDEL', KEYS[2], ARGV[4])
  end
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[5], ARGV[1]) end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
if ARGV[6] ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'c', ARGV[6])
end
return 'ok'
"""

_BY_NAME = """
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[1], id)
"""


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def name_key(value: str) -> str:
    return value.casefold()


@dataclass(frozen=True)
class Stored:
    """A resource with the exact JSON it is stored as (the token of optimistic writes)."""

    resource: Json
    raw: str


class ScimStore:
    def __init__(
        self, client: redis.Redis, keys: Keys, directory: str, *, stream_max: int = 200_000
    ) -> None:
        self.redis = client
        self.directory = directory
        self.stream_max = stream_max
        self._base = keys("fetcher", "scim", directory)
        self._write = client.register_script(_WRITE)
        self._by_name = client.register_script(_BY_NAME)

    def key(self, *parts: str) -> str:
        return ":".join((self._base, *parts))

    @property
    def changes_key(self) -> str:
        return self.key("changes")

    def _keys(self, kind: ResourceKind) -> list[str]:
        table = "users" if kind.name == "User" else "groups"
        return [self.key(table), self.key(table, "names"), self.changes_key]

    async def get(self, kind: ResourceKind, resource_id: str) -> Stored | None:
        raw = await _call(self.redis.hget(self._keys(kind)[0], resource_id))
        return None if raw is None else Stored(json.loads(raw), raw)

    async def by_name(self, kind: ResourceKind, name: str) -> Stored | None:
        keys = self._keys(kind)[:2]
        raw = await _call(self._by_name(keys=keys, args=[name_key(name)]))
        return None if raw is None else Stored(json.loads(raw), raw)

    async def all(self, kind: ResourceKind) -> list[Json]:
        """Every resource of a kind, in a stable order (creation time, then id)."""
        raw = await _call(self.redis.hgetall(self._keys(kind)[0]))
        items = [json.loads(v) for v in raw.values()]
        items.sort(key=lambda r: (r.get("meta", {}).get("created", ""), r.get("id", "")))
        return items

    async def exists(self, kind: ResourceKind, ids: list[str]) -> list[bool]:
        if not ids:
            return []
        found = await _call(self.redis.hmget(self._keys(kind)[0], ids))
        return [v is not None for v in found]

    async def write(
        self,
        kind: ResourceKind,
        resource_id: str,
        *,
        old: Stored | None,
        new: Json | None,
        changes: list[Json],
    ) -> Outcome:
        """Create (old None), replace, or delete (new None) one resource atomically."""
        unique = kind.unique
        old_name = name_key(old.resource[unique]) if old is not None else ""
        new_name = name_key(new[unique]) if new is not None else ""
        args = [
            resource_id,
            old.raw if old is not None else "",
            dumps(new) if new is not None else "",
            old_name,
            new_name,
            dumps(changes) if changes else "",
            str(self.stream_max),
        ]
        result = await _call(self._write(keys=self._keys(kind), args=args))
        return cast(Outcome, result if isinstance(result, str) else result.decode())

    async def ping(self) -> None:
        await _call(self.redis.ping())

    # -- the change stream -------------------------------------------------------------

    async def last_change(self) -> str:
        entries = await _call(self.redis.xrevrange(self.changes_key, count=1))
        return entries[0][0] if entries else "0-0"

    async def trimmed_past(self, cursor: str) -> bool:
        """True when entries after `cursor` may have been trimmed away (cursor too old)."""
        try:
            info = await self.redis.xinfo_stream(self.changes_key)
        except ResponseError:
            return False  # no stream yet: nothing was ever trimmed
        except RedisError as exc:
            raise TransientError(f"redis: {exc}") from exc
        deleted = str(info.get("max-deleted-entry-id", "0-0"))
        return _id(cursor) < _id(deleted)

    async def changes_since(
        self, cursor: str, *, page: int = 1000
    ) -> AsyncIterator[tuple[str, list[Json]]]:
        start = f"({cursor}"
        while True:
            entries = await _call(self.redis.xrange(self.changes_key, min=start, count=page))
            for entry_id, fields in entries:
                yield entry_id, json.loads(fields["c"])
            if len(entries) < page:
                return
            start = f"({entries[-1][0]}"


def _id(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return (0, 0)


async def _call(awaitable: Awaitable[Any] | Any) -> Any:
    try:
        return await awaitable
    except RedisError as exc:
        raise TransientError(f"redis: {exc}") from exc
