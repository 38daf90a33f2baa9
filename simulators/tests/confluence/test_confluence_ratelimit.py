"""Rate limiting: DC headers on every authenticated response, 429 + Retry-After, fake clock."""

from __future__ import annotations

import pytest
from confluence_support import FakeClock, SimFactory

from roster.simulators.confluence import RateLimitSettings
from roster.simulators.confluence.ratelimit import RateLimiter


async def test_headers_then_429_then_refill(make_sim: SimFactory) -> None:
    clock = FakeClock()
    sim = await make_sim(
        "8.4",
        clock=clock,
        ratelimit=RateLimitSettings(enabled=True, fill_rate=2, interval_seconds=4, max=3),
    )
    remaining = []
    for _ in range(3):
        response = await sim.client.get("/rest/api/user/current")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Interval-Seconds"] == "4"
        assert response.headers["X-RateLimit-FillRate"] == "2"
        assert response.headers["Retry-After"] == "0"
        remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]

    blocked = await sim.client.get("/rest/api/user/current")
    assert blocked.status_code == 429
    assert set(blocked.json()) == {"message"}
    assert blocked.headers["Retry-After"] == "2"  # 2 tokens per 4 s: one every 2 s
    assert blocked.headers["X-RateLimit-Remaining"] == "0"

    clock.advance(1.0)
    still = await sim.client.get("/rest/api/user/current")
    assert still.status_code == 429
    assert still.headers["Retry-After"] == "1"

    clock.advance(1.0)
    again = await sim.client.get("/rest/api/user/current")
    assert again.status_code == 200
    assert again.headers["X-RateLimit-Remaining"] == "0"

    clock.advance(100)
    full = await sim.client.get("/rest/api/user/current")
    assert full.headers["X-RateLimit-Remaining"] == "2"  # capped at max, minus this request


async def test_429_without_json_accept_is_an_html_page(make_sim: SimFactory) -> None:
    clock = FakeClock()
    sim = await make_sim(
        "8.4", clock=clock, ratelimit=RateLimitSettings(enabled=True, fill_rate=1, max=1)
    )
    await sim.client.get("/rest/api/group")
    response = await sim.client.get("/rest/api/group", headers={"Accept": "*/*"})
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["Retry-After"] == "1"


async def test_no_headers_when_off_and_none_on_401_or_control(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    response = await sim.client.get("/rest/api/group")
    assert "X-RateLimit-Limit" not in response.headers
    await sim.client.put("/_sim/ratelimit", json={"enabled": True, "fill_rate": 5, "max": 10})
    assert (await sim.client.get("/rest/api/group")).headers["X-RateLimit-Limit"] == "10"
    unauthenticated = await sim.client.get("/rest/api/group", auth=None)
    assert unauthenticated.status_code == 401
    assert "X-RateLimit-Limit" not in unauthenticated.headers
    assert "X-RateLimit-Limit" not in (await sim.client.get("/_sim/state")).headers


async def test_switchable_at_run_time_and_logged_as_rejected(make_sim: SimFactory) -> None:
    clock = FakeClock()
    sim = await make_sim("8.2", clock=clock)
    await sim.seed([{"username": "alice"}], groups=["team"])
    settings = {"enabled": True, "fill_rate": 1, "interval_seconds": 60, "max": 1}
    put = await sim.client.put("/_sim/ratelimit", json=settings)
    assert put.json() == settings
    assert (await sim.client.get("/_sim/ratelimit")).json() == settings
    assert (await sim.client.put("/rest/api/user/alice/group/team")).status_code == 204
    blocked = await sim.client.put("/rest/api/user/alice/group/team")
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "60"
    entry = (await sim.log())[-1]
    assert (entry["status"], entry["op"], entry["effect"]) == (429, "add_member", "rejected")
    assert (entry["target"], entry["group"]) == ("alice", "team")
    await sim.client.put("/_sim/ratelimit", json={"enabled": False})
    assert (await sim.client.put("/rest/api/user/alice/group/team")).status_code == 204


async def test_bad_ratelimit_settings_are_400(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    response = await sim.client.put("/_sim/ratelimit", json={"enabled": True, "fill_rate": 0})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("fill", "interval", "elapsed", "expected_remaining"),
    [(10, 1, 0.05, 0), (10, 1, 0.5, 4), (1, 60, 30, 0), (1, 60, 60, 0), (6, 60, 60, 5)],
)
def test_bucket_refill_arithmetic(
    fill: float, interval: float, elapsed: float, expected_remaining: int
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        RateLimitSettings(enabled=True, fill_rate=fill, interval_seconds=interval, max=10), clock
    )
    for _ in range(10):
        assert limiter.take("u").allowed
    clock.advance(elapsed)
    decision = limiter.take("u")
    refilled = fill * elapsed / interval
    assert decision.allowed is (refilled >= 1)
    assert decision.remaining == expected_remaining
    assert limiter.take("other").remaining == 9  # buckets are per user
