"""`make bench-writer`: the confluence-writer's pace against the Confluence simulator.

Runs the writer's real command handler, executor, HTTP layer and Redis rate limiter (no
Kafka: commands are handed over in batches as the consumer would) against the simulator
under uvicorn. Phase 1 has no rate limit; phase 2 limits the account to 100 requests/s.
Prints one JSON line: writes, seconds, writes_per_second, limit_utilization, http_429_share.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
import redis.asyncio as redis

from roster.shared.config import parse_config
from roster.shared.ids import command_id
from roster.shared.kafka import Delivery, RecordHandler
from roster.shared.logging import configure_logging
from roster.shared.messages.base import Message
from roster.shared.messages.commands import AddMembership
from roster.writer.app import build_writer
from roster.writer.handlers import CommandHandler

LIMIT = 100.0


class DirectRuntime:
    """Hands records straight to the handler and drops published results (no Kafka here)."""

    def __init__(self) -> None:
        self.results = 0

    async def run_one(self, delivery: Delivery, handle: RecordHandler, *, group: str) -> None:
        await handle(delivery.message)

    async def publish(self, family: str, message: Message, *, key: str) -> None:
        self.results += 1

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None:
        self.results += len(items)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _commands(run: str, users: int) -> list[Delivery]:
    out = []
    for n in range(users):
        fields = {"username": f"u{n:05d}", "group": "crew"}
        cmd = AddMembership(
            run_id=run,
            command_id=command_id(run, "AddMembership", fields["username"], fields),
            **fields,
        )
        out.append(Delivery("c", 0, n, cmd.key, None, cmd))
    return out


async def _phase(users: int, limited: bool) -> dict[str, Any]:
    port = _port()
    args = [sys.executable, "-m", "roster.simulators.confluence", "--port", str(port)]
    args += ["--version", "8.4", "--log-level", "warning"]
    if limited:
        args += ["--rate-limit-fill", str(int(LIMIT)), "--rate-limit-interval", "1"]
        args += ["--rate-limit-max", str(int(LIMIT))]
    sim = await asyncio.create_subprocess_exec(*args)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as control:
            for _ in range(100):
                try:
                    await control.get("/_sim/state")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            seed = {"users": [{"username": f"u{n:05d}"} for n in range(users)], "groups": ["crew"]}
            (await control.post("/_sim/users", json=seed)).raise_for_status()
            os.environ.setdefault("BENCH_CONFLUENCE_PASSWORD", "admin")
            config = parse_config(
                {
                    "redis": {
                        "url": os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0"),
                        "key_prefix": f"bench-{uuid.uuid4().hex[:8]}:",
                    },
                    "confluence": {
                        "url": url,
                        "version": "8.4",
                        "auth": {
                            "username": "admin",
                            "password": {"env": "BENCH_CONFLUENCE_PASSWORD"},
                        },
                    },
                }
            )
            client = redis.Redis.from_url(config.redis.url, decode_responses=True)
            writer = build_writer(config, redis_client=client)
            runtime = DirectRuntime()
            handler = CommandHandler(
                runtime,  # type: ignore[arg-type]
                writer.executor,
                writer.reader,
                concurrency=writer.options.concurrency,
            )
            deliveries = _commands(uuid.uuid4().hex[:8], users)
            began = time.monotonic()
            for start in range(0, len(deliveries), writer.options.batch_size):
                await handler.on_batch(deliveries[start : start + writer.options.batch_size])
            seconds = time.monotonic() - began
            await writer.http_client.aclose()
            await client.aclose()
            log = (await control.get("/_sim/requests")).json()["entries"]
            members = (await control.get("/_sim/state")).json()["memberships"].get("crew", [])
    finally:
        sim.terminate()
        await sim.wait()
    writes = [e for e in log if e["method"] == "PUT" and e["status"] == 204]
    throttled = sum(1 for e in log if e["status"] == 429)
    times = sorted(datetime.fromisoformat(e["time"]).timestamp() for e in writes)
    span = (times[-1] - times[0]) if len(times) > 1 else seconds
    return {
        "writes": len(writes),
        "members": len(members),
        "results": runtime.results,
        "seconds": seconds,
        "requests": len(log),
        "http_429": throttled,
        "span": span,
    }


async def main() -> None:
    configure_logging("bench-writer", level="WARNING")
    users = int(os.environ.get("BENCH_WRITES", "3000"))
    free = await _phase(users, limited=False)
    paced = await _phase(int(os.environ.get("BENCH_LIMITED_WRITES", "2000")), limited=True)
    if free["members"] != users or free["results"] != users:
        sys.exit(f"writer did not finish every command: {free}")
    print(
        json.dumps(
            {
                "writes": free["writes"],
                "seconds": round(free["seconds"], 2),
                "writes_per_second": round(free["writes"] / free["seconds"], 1),
                "limit_per_second": LIMIT,
                "limited_writes": paced["writes"],
                "limited_seconds": round(paced["seconds"], 2),
                # allowed = the bucket's capacity plus its refill over the measured span
                "limit_utilization": round(paced["writes"] / (LIMIT * paced["span"] + LIMIT), 3),
                "http_429_share": round(paced["http_429"] / max(1, paced["requests"]), 4),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
