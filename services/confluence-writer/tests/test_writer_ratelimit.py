"""The shared Redis token bucket on a fake clock: pacing, sharing between replicas, the 429
pause, learning the server's pace from its headers, and AIMD without headers."""

from __future__ import annotations

import pytest
from writer_support import FakeClock, cmd

from roster.shared.messages.commands import AddMembership
from roster.shared.messages.results import CommandSucceeded
from roster.shared.redisdb import Keys
from roster.simulators.confluence import RateLimitSettings
from roster.writer.adapters.ratelimit import SharedRateLimiter
from roster.writer.core.pacing import decrease, increase, retry_after, server_pace
from roster.writer.metrics import WriterMetrics
from roster.writer.settings import WriterOptions

HEADERS = {
    "x-ratelimit-fillrate": "20",
    "x-ratelimit-interval-seconds": "1",
    "x-ratelimit-limit": "20",
    "x-ratelimit-remaining": "19",
}


def test_server_pace_from_headers() -> None:
    learned = server_pace(HEADERS, safety=0.9)
    assert learned is not None
    assert learned.pace.rate == pytest.approx(18.0)
    assert learned.pace.burst == pytest.approx(18.0)
    assert learned.remaining == pytest.approx(17.0)
    per_minute = {**HEADERS, "x-ratelimit-fillrate": "600", "x-ratelimit-interval-seconds": "60"}
    assert server_pace(per_minute, safety=1.0).pace.rate == pytest.approx(10.0)  # type: ignore[union-attr]
    assert server_pace({"x-ratelimit-limit": "20"}, safety=0.9) is None
    assert server_pace({**HEADERS, "x-ratelimit-fillrate": "lots"}, safety=0.9) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0", 0.0), (" 1.5 ", 1.5), ("-4", 0.0), ("soon", None), (None, None),
     ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0)],
)  # fmt: skip
def test_retry_after(header, expected) -> None:
    now = 1445412480.0  # 07:28:00 that day
    assert retry_after(header, now=now) == expected


def test_aimd_steps() -> None:
    assert decrease(10.0, observed=50.0, floor=1.0) == 5.0
    assert decrease(0.0, observed=30.0, floor=1.0) == 15.0  # unlimited so far: halve what we did
    assert decrease(1.5, observed=0.0, floor=1.0) == 1.0
    assert increase(5.0, step=1.0) == 6.0
    assert increase(5.0, step=1.0, ceiling=5.5) == 5.5


@pytest.fixture
def limiter_for(redis_client, prefix):
    def make(clock: FakeClock, **options) -> SharedRateLimiter:
        return SharedRateLimiter(
            redis_client,
            Keys(prefix),
            options=WriterOptions(**options),
            clock=clock,
            metrics=WriterMetrics(),
        )

    return make


async def test_unlimited_by_default(limiter_for) -> None:
    clock = FakeClock()
    limiter = limiter_for(clock)
    for _ in range(50):
        assert await limiter.acquire() == 0.0
    assert clock.sleeps == []


async def test_configured_rate_paces_requests(limiter_for) -> None:
    clock = FakeClock()
    limiter = limiter_for(clock, rate_limit_per_second=10.0, rate_limit_burst=1.0)
    start = clock.now()
    for _ in range(11):
        await limiter.acquire()
    assert clock.now() - start == pytest.approx(1.0, abs=0.011)


async def test_replicas_share_one_bucket(limiter_for) -> None:
    clock = FakeClock()
    a = limiter_for(clock, rate_limit_per_second=10.0, rate_limit_burst=5.0)
    b = limiter_for(clock, rate_limit_per_second=10.0, rate_limit_burst=5.0)
    start = clock.now()
    for _ in range(15):
        await a.acquire()
        await b.acquire()
    # 30 requests, 5 from the burst, 25 at 10/s
    assert clock.now() - start == pytest.approx(2.5, abs=0.03)


async def test_a_429_pause_stops_every_replica(limiter_for, redis_client) -> None:
    clock = FakeClock()
    a = limiter_for(clock)
    b = limiter_for(clock)
    await a.pause(3.0)
    waited = await b.acquire()
    assert waited == pytest.approx(3.0, abs=0.002)
    assert 0 < await redis_client.pttl(b.pause_key) <= 4000
    assert await b.acquire() == 0.0  # the pause is over


async def test_a_pause_is_capped(limiter_for) -> None:
    clock = FakeClock()
    limiter = limiter_for(clock, max_wait_seconds=5.0)
    await limiter.pause(3600.0)
    assert await limiter.acquire() == pytest.approx(5.0, abs=0.002)


async def test_server_headers_set_the_shared_pace(limiter_for, redis_client) -> None:
    clock = FakeClock()
    a = limiter_for(clock, rate_limit_safety=0.9)
    b = limiter_for(clock, rate_limit_safety=0.9)
    await a.observe(HEADERS, 200)
    bucket = await redis_client.hgetall(a.bucket_key)
    assert float(bucket["rate"]) == pytest.approx(18.0)
    assert bucket["mode"] == "server"
    start = clock.now()
    for _ in range(17):  # what the server has left, minus the safety margin
        await b.acquire()
    assert clock.now() == start
    await b.acquire()
    assert clock.now() - start == pytest.approx(1 / 18, abs=0.002)


async def test_aimd_without_headers(limiter_for, redis_client) -> None:
    clock = FakeClock()
    limiter = limiter_for(clock, rate_limit_min_per_second=1.0, rate_limit_step_per_second=1.0)
    for _ in range(40):  # 40 responses in the last two seconds: 20/s
        await limiter.observe({}, 200)
    await limiter.observe({}, 429)
    assert float(await redis_client.hget(limiter.bucket_key, "rate")) == pytest.approx(10.25)
    await limiter.acquire()  # learns the shared rate
    for _ in range(3):
        await clock.sleep(1.0)
        await limiter.observe({}, 200)
    assert float(await redis_client.hget(limiter.bucket_key, "rate")) == pytest.approx(13.25)


async def test_writer_learns_the_pace_and_avoids_429(make_sim, make_writer, control) -> None:
    """One writer, the simulator on the same fake clock: after the first read, no 429 at all."""
    clock = FakeClock()
    app = make_sim(
        "8.4",
        clock=clock.now,
        ratelimit=RateLimitSettings(enabled=True, fill_rate=5, interval_seconds=1, max=5),
    )
    sim = control(app)
    await sim.seed({"users": [{"username": f"u{i}"} for i in range(30)], "groups": ["crew"]})
    writer = make_writer(app, use_clock=clock, rate_limit_safety=0.9)
    start = clock.now()
    for i in range(30):
        result = await writer.executor.execute(cmd(AddMembership, username=f"u{i}", group="crew"))
        assert isinstance(result, CommandSucceeded)
    log = await sim.log()
    assert [e for e in log if e["status"] == 429] == []
    elapsed = clock.now() - start
    # after the auth probe the server has 4 tokens left; we use 3 (one kept as margin), and
    # the other 27 writes go at 0.9 × 5 req/s
    assert elapsed == pytest.approx(27 / 4.5, abs=0.05)
    assert writer.metrics.ratelimit_wait._value.get() == pytest.approx(elapsed, abs=0.01)


async def test_a_429_is_obeyed_and_retried(make_sim, make_writer, control) -> None:
    clock = FakeClock()
    app = make_sim("8.4", clock=clock.now)
    sim = control(app)
    await sim.seed({"users": [{"username": "u"}], "groups": ["crew"]})
    writer = make_writer(app, use_clock=clock)
    await writer.client.ready()  # no rate limit yet: nothing learned
    await sim.ratelimit(enabled=True, fill_rate=1, interval_seconds=10, max=1)
    # someone else with the same account takes the only token
    other = await sim.client.get("/rest/api/user/current", auth=("admin", "admin"))
    assert other.status_code == 200
    result = await writer.executor.execute(cmd(AddMembership, username="u", group="crew"))
    assert isinstance(result, CommandSucceeded)
    log = await sim.log()
    assert [e["status"] for e in log[-2:]] == [429, 204]
    assert sum(clock.sleeps) >= 10.0  # Retry-After obeyed (on the fake clock)
    assert await writer.limiter._pause_left() == 0.0
