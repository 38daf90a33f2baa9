"""Typed replies of a Redis client that decodes responses (`redisdb.connect` does).

redis-py types every reply as `bytes | str`; with decoding on they are `str`. These helpers
say so once instead of a cast at every call, and add no behaviour of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import redis.asyncio as redis


async def hgetall(client: redis.Redis, key: str) -> dict[str, str]:
    return cast(dict[str, str], await client.hgetall(key))


async def hkeys(client: redis.Redis, key: str) -> list[str]:
    return cast(list[str], await client.hkeys(key))


async def smembers(client: redis.Redis, key: str) -> set[str]:
    return cast(set[str], await client.smembers(key))


def fields(mapping: Mapping[str, str]) -> Mapping[Any, Any]:
    """A str → str mapping as `hset(mapping=...)` accepts it."""
    return mapping
