"""A writer replica as a separate process, for the SIGKILL test: executes the commands in a
JSON file through the real handler and prints one result per line (its "Kafka output").

Usage: python writer_crash_runner.py URL REDIS_PREFIX COMMANDS_FILE CONCURRENCY
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import redis.asyncio as redis
from writer_support import PASSWORD, PASSWORD_ENV, by_key, make_config, redis_url

from roster.shared.logging import configure_logging
from roster.shared.messages.base import Message
from roster.shared.messages.commands import command_adapter
from roster.writer.app import build_writer
from roster.writer.handlers import CommandHandler


class PrintingRuntime:
    async def run_one(self, delivery, handle, *, group: str) -> None:
        await handle(delivery.message)

    async def publish(self, family: str, message: Message, *, key: str) -> None:
        sys.stdout.write(message.model_dump_json() + "\n")
        sys.stdout.flush()

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None:
        for key, message in items:
            await self.publish(family, message, key=key)


async def main(url: str, prefix: str, path: str, concurrency: int) -> None:
    import os

    os.environ[PASSWORD_ENV] = PASSWORD
    configure_logging("confluence-writer", level="WARNING", json=True)  # stderr
    commands = [command_adapter.validate_python(c) for c in json.loads(Path(path).read_text())]
    client = redis.Redis.from_url(redis_url(), decode_responses=True)
    writer = build_writer(make_config(url, prefix=prefix), redis_client=client)
    handler = CommandHandler(
        PrintingRuntime(), writer.executor, writer.reader, concurrency=concurrency
    )
    await handler.on_batch(by_key(commands))
    await writer.http_client.aclose()
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
