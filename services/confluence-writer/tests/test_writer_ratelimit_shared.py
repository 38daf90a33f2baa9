"""Two writer replicas, one Redis bucket, Confluence limiting the account to 20 req/s (real
time, real sockets, ~12 s): together they stay within the limit with fewer than 1 % 429s."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from writer_support import FakeRuntime, by_key, cmd

from roster.shared.messages.commands import AddMembership
from roster.shared.messages.results import CommandSucceeded
from roster.simulators.confluence import RateLimitSettings
from roster.writer.adapters.clock import SystemClock
from roster.writer.handlers import CommandHandler

USERS = 200
RATE = 20.0


async def test_two_replicas_share_the_limit(make_sim, make_writer, control, served) -> None:
    limit = RateLimitSettings(enabled=True, fill_rate=RATE, interval_seconds=1, max=int(RATE))
    app = make_sim("8.4", ratelimit=limit)
    url = await served(app)
    sim = control(url)
    await sim.seed({"users": [{"username": f"u{i:03d}"} for i in range(USERS)], "groups": ["crew"]})
    commands = [cmd(AddMembership, username=f"u{i:03d}", group="crew") for i in range(USERS)]
    replicas = [make_writer(url, use_clock=SystemClock(), concurrency=8) for _ in range(2)]
    runtimes = [FakeRuntime(), FakeRuntime()]
    handlers = [
        CommandHandler(rt, w.executor, w.reader, concurrency=8)
        for rt, w in zip(runtimes, replicas, strict=True)
    ]

    started = time.monotonic()
    await asyncio.wait_for(
        asyncio.gather(
            handlers[0].on_batch(by_key(commands[0::2])),
            handlers[1].on_batch(by_key(commands[1::2])),
        ),
        timeout=60,
    )
    wall = time.monotonic() - started

    results = [m for rt in runtimes for _, _, m in rt.published]
    assert len(results) == USERS
    assert all(isinstance(r, CommandSucceeded) for r in results)
    assert len((await sim.state())["memberships"]["crew"]) == USERS

    log = [e for e in await sim.log() if e["path"] != "/rest/applinks/1.0/manifest"]
    limited = sum(1 for e in log if e["status"] == 429)
    share = limited / len(log)
    times = sorted(datetime.fromisoformat(e["time"]).timestamp() for e in log)
    span = times[-1] - times[0]
    achieved = (len(log) - limited) / span
    # what the server admits in that span: its refill plus one full bucket at the start
    allowed = RATE * span + RATE
    busiest = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
    print(
        f"\nrequests={len(log)} 429s={limited} share={share:.2%} span={span:.1f}s "
        f"achieved={achieved:.1f}/s busiest_second={busiest} wall={wall:.1f}s"
    )
    assert share < 0.01
    assert len(log) - limited <= allowed  # never faster than the server admits
    assert achieved >= RATE * 0.7  # and not needlessly slow
    assert busiest <= 2 * RATE  # one bucketful plus one second of refill at most
