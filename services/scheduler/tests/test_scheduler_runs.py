"""RunStore on a real Redis: the sync lock, first-result-wins, completion exactly once."""

from __future__ import annotations

import os
import uuid

import pytest
import redis.asyncio as redis

from roster.scheduler.runs import RunStore
from roster.shared.messages.results import CommandFailed, CommandSucceeded
from roster.shared.redisdb import Keys


@pytest.fixture
async def store() -> RunStore:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL is not set: run `make test`")
    client = redis.Redis.from_url(url, decode_responses=True)
    await client.ping()
    return RunStore(client, Keys(f"t-{uuid.uuid4().hex[:8]}:"))


def _ok(run: str, cid: str, noop: bool = False) -> CommandSucceeded:
    return CommandSucceeded(run_id=run, command_id=cid, operation="AddMembership", noop=noop)


async def test_one_sync_at_a_time_per_directory(store: RunStore) -> None:
    assert await store.lock("kc", "r1") is None
    assert await store.lock("kc", "r2") == "r1"
    assert await store.lock("other", "r3") is None
    await store.unlock("kc", "r2")  # not the holder: no effect
    assert await store.lock("kc", "r4") == "r1"
    await store.unlock("kc", "r1")
    assert await store.lock("kc", "r5") is None


async def test_results_count_once_and_the_run_completes_once(store: RunStore) -> None:
    await store.started("r1", {"directory": "kc", "dry_run": False})
    await store.record_result(_ok("r1", "c1"))
    await store.record_result(_ok("r1", "c1", noop=True))  # a replayed result
    assert not await store.try_complete("r1")  # planned count unknown yet
    await store.update("r1", {"commands": 2})
    assert not await store.try_complete("r1")
    failed = CommandFailed(
        run_id="r1", command_id="c2", operation="CreateUser", permanent=True, error="402"
    )
    await store.record_result(failed)
    assert await store.try_complete("r1")
    assert not await store.try_complete("r1")
    run = await store.get("r1")
    assert run is not None
    assert (run["status"], run["applied"], run["failed"], run["done"]) == ("failed", 1, 1, 2)
    assert "noop" not in run
    assert len(await store.results("r1")) == 2
    assert [r["run_id"] for r in await store.recent()] == ["r1"]
