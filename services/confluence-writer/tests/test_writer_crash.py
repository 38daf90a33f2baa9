"""A writer process SIGKILLed mid-sync (twice) and restarted on the same commands — the worst
Kafka replay, from offset 0 — never applies a write twice and still converges."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from writer_support import (
    FakeRuntime,
    applied_twice,
    bulk_scenario,
    bulk_seed,
    by_key,
    normalise,
)

from roster.shared.messages.results import result_adapter
from roster.writer.handlers import CommandHandler

RUNNER = Path(__file__).with_name("writer_crash_runner.py")


async def writes_applied(sim) -> int:
    return sum(1 for e in await sim.log() if e["effect"] == "applied")


async def start(url: str, prefix: str, commands: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(RUNNER),
        url,
        prefix,
        str(commands),
        "4",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        cwd=str(RUNNER.parent),
    )


async def kill_after(proc: asyncio.subprocess.Process, sim, applied: int) -> None:
    async with asyncio.timeout(60):
        while await writes_applied(sim) < applied:
            await asyncio.sleep(0.01)
    proc.kill()  # SIGKILL: no cleanup, no finally blocks
    await proc.wait()


@pytest.mark.parametrize(("version", "kills"), [("7.13", (30,)), ("8.4", (20, 55))])
async def test_sigkill_mid_sync_never_applies_a_write_twice(
    make_sim, make_writer, control, served, redis_client, prefix, tmp_path, version, kills
):
    commands = bulk_scenario()
    reference = make_sim(version)
    await control(reference).seed(bulk_seed())
    ref_writer = make_writer(reference, key_prefix="ref:")
    handler = CommandHandler(FakeRuntime(), ref_writer.executor, ref_writer.reader, concurrency=1)
    await handler.on_batch(by_key(commands))
    expected = normalise(await control(reference).state())

    app = make_sim(version)
    url = await served(app)
    sim = control(url)
    await sim.seed(bulk_seed())
    # slow writes widen the window in which a kill lands between sending and recording
    await sim.faults(latency_ms=40, methods=["POST", "PUT", "DELETE"])
    path = tmp_path / "commands.json"
    path.write_text(json.dumps([c.model_dump(mode="json") for c in commands]))

    in_flight_seen = 0
    for applied in kills:
        proc = await start(url, prefix, path)
        await kill_after(proc, sim, applied)
        keys = [k async for k in redis_client.scan_iter(f"{prefix}writer:inflight:*")]
        in_flight_seen += len(keys)

    proc = await start(url, prefix, path)
    async with asyncio.timeout(120):
        out, _ = await proc.communicate()
    assert proc.returncode == 0
    results = [result_adapter.validate_json(line) for line in out.decode().splitlines()]

    assert {r.command_id for r in results} == {c.command_id for c in commands}
    assert [r for r in results if r.type != "CommandSucceeded"] == []
    assert sum(1 for r in results if r.detail == "replay") >= 20
    assert in_flight_seen >= 1  # a kill really landed mid-command
    log = await sim.log()
    assert applied_twice(log) == []
    await sim.faults()
    assert normalise(await sim.state()) == expected
