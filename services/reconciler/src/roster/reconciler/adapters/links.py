"""The link table in Redis: IdP subject ⇄ Confluence username, per directory.

`links:{directory}` maps subject → username, `links:owner` maps username → `directory/subject`;
both are written together by one Lua script, so a username is never linked twice (another
directory, or another subject of the same one, wins and the new link is refused). Links
never expire: they are how an IdP rename stays an update of the same account.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis.asyncio as redis

from roster.reconciler.adapters.text import hgetall
from roster.reconciler.core.state import NewLink, Owner
from roster.shared.redisdb import Keys

_RECORD = """
local refused = {}
for i = 2, #ARGV, 2 do
  local subject, username = ARGV[i], ARGV[i + 1]
  local owner = ARGV[1] .. "/" .. subject
  local current = redis.call("HGET", KEYS[2], username)
  local previous = redis.call("HGET", KEYS[1], subject)
  if (current and current ~= owner) or (previous and previous ~= username) then
    table.insert(refused, username)
  else
    redis.call("HSET", KEYS[1], subject, username)
    redis.call("HSET", KEYS[2], username, owner)
  end
end
return refused
"""
_CHUNK = 500
"""Links per script call, so one call never blocks Redis for long."""


class LinkStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys
        self._record = client.register_script(_RECORD)

    def _table(self, directory: str) -> str:
        return self.keys("links", directory)

    async def subjects(self, directory: str) -> dict[str, str]:
        """This directory's links: subject → username."""
        table: dict[str, str] = await hgetall(self.redis, self._table(directory))
        return table

    async def owners(self) -> dict[str, Owner]:
        """Every linked username → its owner, across directories."""
        raw: dict[str, str] = await hgetall(self.redis, self.keys("links", "owner"))
        return {username: Owner.decode(value) for username, value in raw.items()}

    async def record(self, directory: str, links: Iterable[NewLink]) -> list[NewLink]:
        """Record links; returns those refused because the username or subject is taken."""
        pending = list(links)
        refused: list[NewLink] = []
        keys = [self._table(directory), self.keys("links", "owner")]
        for start in range(0, len(pending), _CHUNK):
            chunk = pending[start : start + _CHUNK]
            args = [directory]
            for link in chunk:
                args += [link.subject, link.username]
            names = set(await self._record(keys=keys, args=args))
            refused += [link for link in chunk if link.username in names]
        return refused
