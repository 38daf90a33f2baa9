"""Helpers of the SCIM tests: a fetcher with two `scim` directories on the real stack."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI

from roster.fetcher.app import build_app
from roster.shared.config import RosterConfig

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0")
TOKENS = {
    "ROSTER_TEST_SCIM_A1": "scim-a-token-1-8d1f0c",
    "ROSTER_TEST_SCIM_A2": "scim-a-token-2-77ab2e",
    "ROSTER_TEST_SCIM_B": "scim-b-token-c41e9a",
}
TOKEN_A = TOKENS["ROSTER_TEST_SCIM_A1"]
TOKEN_A2 = TOKENS["ROSTER_TEST_SCIM_A2"]
TOKEN_B = TOKENS["ROSTER_TEST_SCIM_B"]
SCIM = "application/scim+json"


def set_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    for env, value in TOKENS.items():
        monkeypatch.setenv(env, value)


def new_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


def scim_config(prefix: str, *, batch_seconds: float = 0.5, **extra: Any) -> RosterConfig:
    def directory(name: str, *envs: str) -> dict[str, Any]:
        tokens = [{"env": e} for e in envs]
        return {
            "id": name,
            "kind": "scim",
            "scim": {"tokens": tokens, "batch_seconds": batch_seconds},
        }

    return RosterConfig(
        kafka={
            "bootstrap_servers": BOOTSTRAP,
            "topic_prefix": prefix,
            "partitions": 1,
            "group_prefix": prefix.rstrip("."),
        },
        redis={"url": REDIS_URL, "key_prefix": prefix},
        directories=[
            directory("scim-a", "ROSTER_TEST_SCIM_A1", "ROSTER_TEST_SCIM_A2"),
            directory("scim-b", "ROSTER_TEST_SCIM_B"),
        ],
        **extra,
    )


async def require_stack() -> None:
    """Fail (never skip) when Redis is not there (Kafka is checked by the app's start)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis not reachable at {REDIS_URL} ({exc!r}): run scripts/stack.sh start")
    finally:
        await client.aclose()


@dataclass
class Fetcher:
    app: FastAPI
    prefix: str
    client: httpx.AsyncClient

    def scim(self, token: str = TOKEN_A, base: str = "/scim/v2") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=f"http://fetcher.test{base}",
            headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM},
        )


@asynccontextmanager
async def running_fetcher(prefix: str, **config: Any) -> AsyncIterator[Fetcher]:
    await require_stack()
    app = build_app(scim_config(prefix, **config))
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://fetcher.test"
        )
        try:
            yield Fetcher(app, prefix, client)
        finally:
            await client.aclose()
    await drop_keys(prefix)


async def drop_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
