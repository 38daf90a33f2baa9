"""Redis stores of the multi-directory and grace-period rules.

`rec:claims:{directory}` (username → JSON claim) is replaced after each planned full sync
and read when other directories plan; `rec:deprovisioned:{directory}` and
`rec:cleanup:{directory}` (username → ISO time) hold when a user was deactivated. None
expire: like links, they outlive runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

import redis.asyncio as redis

from roster.reconciler.adapters.text import fields, hgetall
from roster.reconciler.core.grace import Marks
from roster.reconciler.core.rules import Claim, Claims
from roster.shared.redisdb import Keys

_CHUNK = 1000


def _encode(claim: Claim) -> str:
    return json.dumps([claim.subject, claim.display_name, claim.email, claim.active])


def _decode(raw: str) -> Claim:
    subject, display_name, email, active = json.loads(raw)
    return Claim(str(subject), str(display_name), str(email), bool(active))


class ClaimStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def _key(self, directory: str) -> str:
        return self.keys("rec", "claims", directory)

    async def load(self, directory: str) -> dict[str, Claim]:
        raw: dict[str, str] = await hgetall(self.redis, self._key(directory))
        return {username: _decode(value) for username, value in raw.items()}

    async def load_many(self, directories: Iterable[str]) -> dict[str, Claims]:
        return {d: await self.load(d) for d in directories}

    async def replace(self, directory: str, claims: Mapping[str, Claim]) -> None:
        """Swap in the directory's claims at once (readers never see half a set)."""
        key = self._key(directory)
        staging = f"{key}:new"
        items = sorted(claims.items())
        await self.redis.delete(staging)
        for start in range(0, len(items), _CHUNK):
            chunk = {u: _encode(c) for u, c in items[start : start + _CHUNK]}
            await self.redis.hset(staging, mapping=fields(chunk))  # type: ignore[misc]
        if items:
            await self.redis.rename(staging, key)
        else:
            await self.redis.delete(key)


class DeactivationStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.keys = keys

    def _key(self, kind: str, directory: str) -> str:
        return self.keys("rec", kind, directory)

    async def _load(self, kind: str, directory: str) -> dict[str, datetime]:
        raw: dict[str, str] = await hgetall(self.redis, self._key(kind, directory))
        return {u: datetime.fromisoformat(v) for u, v in raw.items()}

    async def deprovisioned(self, directory: str) -> dict[str, datetime]:
        return await self._load("deprovisioned", directory)

    async def cleaned_up(self, directory: str) -> dict[str, datetime]:
        return await self._load("cleanup", directory)

    async def record(self, directory: str, marks: Marks, now: datetime) -> None:
        if marks.empty:
            return
        stamp = now.isoformat()
        deprovisioned, cleanup = (self._key(k, directory) for k in ("deprovisioned", "cleanup"))
        async with self.redis.pipeline(transaction=True) as pipe:
            for username in sorted(marks.clear):
                pipe.hdel(deprovisioned, username)
                pipe.hdel(cleanup, username)
            for username in sorted(marks.deprovisioned):
                pipe.hset(deprovisioned, username, stamp)
            for username in sorted(marks.deprovisioned_if_missing):
                pipe.hsetnx(deprovisioned, username, stamp)
            for username in sorted(marks.cleaned):
                pipe.hset(cleanup, username, stamp)
            await pipe.execute()
