"""The sync-at-login route: 202 with a run id, `?wait=true` answers from the scheduler's run
hash in a real Redis (200 once final, 202 `running` after the timeout), 404 and 409."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI

from roster.fetcher.jit import jit_router
from roster.shared.config import RedisSettings
from roster.shared.redisdb import Keys, connect

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0")


class Incremental:
    kind = "keycloak"
    directory = "kc"

    async def start_cursor(self) -> str:
        return ""

    async def changes(self, cursor: str) -> Any:
        raise NotImplementedError

    async def user_groups(self, subject: str) -> list[Any]:
        return []


class FullOnly:
    kind = "ldap"
    directory = "ldap"


class Trigger:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def request_sync(self, directory: str, **fields: Any) -> str:
        self.calls.append({"directory": directory, **fields})
        return f"run-{len(self.calls)}"


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, redis.Redis, Keys, Trigger]]:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    store = connect(RedisSettings(url=REDIS_URL, key_prefix=prefix))
    try:
        await asyncio.wait_for(store.ping(), 5)
    except Exception as exc:  # noqa: BLE001 - any failure means Redis is not there
        await store.aclose()
        pytest.fail(f"Redis not reachable at {REDIS_URL} ({exc!r}): run scripts/stack.sh start")
    keys, trigger = Keys(prefix), Trigger()
    app = FastAPI()
    connectors: dict[str, Any] = {"kc": Incremental(), "ldap": FullOnly()}
    app.include_router(jit_router(connectors, trigger, store, keys))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fetcher") as http:
        yield http, store, keys, trigger
    async for key in store.scan_iter(match=f"{prefix}*"):
        await store.delete(key)
    await store.aclose()


async def test_without_wait_the_run_is_started(client) -> None:
    http, _, _, trigger = client
    answer = await http.post("/api/v1/directories/kc/users/abc-123:sync")
    assert (answer.status_code, answer.json()) == (202, {"run_id": "run-1"})
    assert trigger.calls == [
        {
            "directory": "kc",
            "mode": "single",
            "trigger": "jit",
            "subject": "abc-123",
            "dry_run": False,
        }  # fmt: skip
    ]


async def test_wait_answers_once_the_run_is_final(client) -> None:
    http, store, keys, _ = client

    async def scheduler() -> None:
        await store.hset(keys("run", "run-1"), mapping={"status": "running"})
        await asyncio.sleep(0.2)
        await store.hset(keys("run", "run-1"), mapping={"status": "succeeded"})

    task = asyncio.create_task(scheduler())
    answer = await http.post("/api/v1/directories/kc/users/u1:sync", params={"wait": "true"})
    await task
    assert (answer.status_code, answer.json()) == (200, {"run_id": "run-1", "status": "succeeded"})


async def test_a_failed_run_carries_its_error_and_a_slow_one_times_out(client) -> None:
    http, store, keys, _ = client
    await store.hset(keys("run", "run-1"), mapping={"status": "failed", "error": "IdP down"})
    failed = await http.post("/api/v1/directories/kc/users/u1:sync?wait=true")
    assert failed.json() == {"run_id": "run-1", "status": "failed", "error": "IdP down"}
    slow = await http.post("/api/v1/directories/kc/users/u2:sync?wait=true&timeout=0.2")
    assert (slow.status_code, slow.json()) == (202, {"run_id": "run-2", "status": "running"})


async def test_unknown_directories_and_kinds_without_user_groups(client) -> None:
    http, _, _, trigger = client
    missing = await http.post("/api/v1/directories/nope/users/u:sync")
    assert missing.status_code == 404
    full_only = await http.post("/api/v1/directories/ldap/users/u:sync")
    assert full_only.status_code == 409
    assert trigger.calls == []
