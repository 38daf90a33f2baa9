"""Fixtures of the reconciler tests: a real Redis (REDIS_URL), a unique key prefix per test.

A Redis that does not answer FAILS the tests that need it (never skips): start it with
`scripts/stack.sh redis-start` (or `start` for Kafka too).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from reconciler_support import REDIS_URL

from roster.shared.config import RedisSettings
from roster.shared.redisdb import Keys, connect


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def keys(prefix: str) -> Keys:
    return Keys(prefix)


@pytest.fixture
async def redis_client(prefix: str) -> AsyncIterator[redis.Redis]:
    client = connect(RedisSettings(url=REDIS_URL, key_prefix=prefix))
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:  # noqa: BLE001 - any failure means Redis is not there
        await client.aclose()
        pytest.fail(f"Redis not reachable at {REDIS_URL} ({exc!r}): run scripts/stack.sh start")
    yield client
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        await client.delete(key)
    await client.aclose()
