"""Redis connection and key naming; every key starts with the configured prefix."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as redis

from roster.shared.config import RedisSettings


@dataclass(frozen=True)
class Keys:
    prefix: str = "roster:"

    def __call__(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)


def connect(settings: RedisSettings) -> redis.Redis:
    return redis.Redis.from_url(settings.url, decode_responses=True, health_check_interval=30)
