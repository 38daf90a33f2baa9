"""What the scheduler's HTTP tests share: a recording Kafka runtime, a scratch Redis key
space on the real Redis, two API tokens, and the fetcher's documented check answer."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as redis
from fastapi import FastAPI

from roster.scheduler.auth import Authenticator
from roster.shared.messages.base import Message
from roster.shared.redisdb import Keys
from roster.shared.settings.scheduler import SchedulerAuth


@dataclass
class Recorder:
    """A KafkaRuntime's publishing side, recording (the HTTP tests need no broker)."""

    sent: list[tuple[str, str, Message]] = field(default_factory=list)

    async def publish(self, family: str, message: Message, *, key: str) -> None:
        self.sent.append((family, key, message))

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None:
        self.sent += [(family, k, m) for k, m in items]

    def subscribe(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass(frozen=True)
class Scratch:
    url: str
    client: redis.Redis
    keys: Keys

    @property
    def prefix(self) -> str:
        return self.keys.prefix


@asynccontextmanager
async def scratch_redis(tag: str) -> AsyncIterator[Scratch]:
    """A client on the real Redis (REDIS_URL; the test fails without it) and a key prefix
    of its own, whose keys are deleted afterwards."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL is not set: run `make test`")
    prefix = f"{tag}-{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(url, decode_responses=True)
    await client.ping()
    try:
        yield Scratch(url, client, Keys(prefix))
    finally:
        async for key in client.scan_iter(match=f"{prefix}*", count=5000):
            await client.delete(key)
        await client.aclose()


def two_tokens(tag: str, operator: str, viewer: str) -> Authenticator:
    """The scheduler's own authenticator over an operator `olga` and a viewer `vic`, their
    tokens in environment variables as `scheduler.auth` configures them."""
    os.environ[f"ROSTER_TEST_{tag}_OPERATOR"] = operator
    os.environ[f"ROSTER_TEST_{tag}_VIEWER"] = viewer
    return Authenticator(
        SchedulerAuth(
            tokens=[
                {
                    "name": "olga",
                    "role": "operator",
                    "token": {"env": f"ROSTER_TEST_{tag}_OPERATOR"},
                },
                {"name": "vic", "role": "viewer", "token": {"env": f"ROSTER_TEST_{tag}_VIEWER"}},
            ]
        )
    )


def fetcher_app() -> FastAPI:
    """The fetcher's documented check answer: corp reachable, every other directory not."""
    app = FastAPI()

    @app.get("/api/v1/directories/{directory}/check")
    async def check(directory: str) -> dict[str, Any]:
        if directory == "corp":
            return {"ok": True, "error": None}
        return {"ok": False, "error": "401 from the IdP"}

    return app
