"""Under 20 % injected 503s and 5 % dropped connections (real sockets, uvicorn) every command
still ends succeeded, the final state equals a fault-free run, and no write is applied twice."""

from __future__ import annotations

from collections import Counter

import pytest
from writer_support import (
    FakeRuntime,
    applied_twice,
    bulk_scenario,
    bulk_seed,
    by_key,
    normalise,
)

from roster.shared import topics
from roster.shared.messages.results import CommandSucceeded
from roster.writer.handlers import CommandHandler


async def run_batch(writer, commands, *, concurrency: int = 8) -> FakeRuntime:
    runtime = FakeRuntime()
    handler = CommandHandler(runtime, writer.executor, writer.reader, concurrency=concurrency)
    await handler.on_batch(by_key(commands))
    return runtime


@pytest.mark.parametrize("version", ["7.13", "8.4"])
async def test_faults_do_not_change_the_outcome(
    make_sim, make_writer, control, served, clock, version
):
    commands = bulk_scenario()

    reference = make_sim(version)
    await control(reference).seed(bulk_seed())
    clean = await run_batch(make_writer(reference, key_prefix="ref:"), commands, concurrency=1)
    assert all(isinstance(m, CommandSucceeded) for _, _, m in clean.published)
    expected = normalise(await control(reference).state())

    app = make_sim(version)
    url = await served(app)
    sim = control(url)
    await sim.seed(bulk_seed())
    await sim.faults(error_rate=0.20, error_status=503, drop_rate=0.05, seed=11)
    writer = make_writer(url, max_attempts=10)
    runtime = await run_batch(writer, commands)

    results = [m for family, _, m in runtime.published if family == topics.CONFLUENCE_RESULTS]
    assert Counter(r.command_id for r in results) == Counter(c.command_id for c in commands)
    failed = [r for r in results if not isinstance(r, CommandSucceeded)]
    assert failed == []
    await sim.faults()
    assert normalise(await sim.state()) == expected
    log = await sim.log()
    assert applied_twice(log) == []
    statuses = Counter(e["status"] for e in log)
    assert statuses[503] > 20  # faults were really injected ...
    assert statuses[0] > 3  # ... and connections really dropped
    assert runtime.peak > 1  # keys ran concurrently
    # backoff ran on the fake clock: no wall time spent waiting
    assert clock.sleeps
