"""One token bucket in Redis shared by every writer replica, with a cluster-wide 429 pause.

`acquire()` reserves a token atomically (Lua) and sleeps until its slot: tokens may go
negative, so waiters queue instead of polling. A live `writer:pause` (a 429's Retry-After)
stops every replica before it takes a token. Pace: the server's X-RateLimit headers, else the
configured rate, else AIMD after a 429. The arithmetic is in `core.pacing`; this moves numbers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import redis.asyncio as redis
import structlog

from roster.shared.redisdb import Keys
from roster.writer.adapters.clock import Clock
from roster.writer.core.pacing import Pace, decrease, increase, server_pace
from roster.writer.metrics import WriterMetrics
from roster.writer.settings import WriterOptions

log = structlog.get_logger()

BUCKET_TTL_MS = 3_600_000
PACE_REFRESH_SECONDS = 5.0
DEFAULT_PAUSE_SECONDS = 1.0

# KEYS: bucket, pause. ARGV: now, default rate, default burst, ttl ms.
# Returns {1, wait ms, rate in milli-requests/s} or {-1, pause ms left, rate}.
_TAKE = """
local now = tonumber(ARGV[1])
local until_ts = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'rate', 'burst')
local rate = tonumber(h[3]) or tonumber(ARGV[2])
if until_ts > now then return {-1, math.ceil((until_ts - now) * 1000), math.floor(rate * 1000)} end
if rate <= 0 then return {1, 0, 0} end
local burst = tonumber(h[4]) or tonumber(ARGV[3])
local tokens = tonumber(h[1]) or burst
local ts = tonumber(h[2]) or now
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local wait = 0
if tokens < 0 then wait = math.ceil(-tokens / rate * 1000) end
return {1, wait, math.floor(rate * 1000)}
"""

# KEYS: bucket. ARGV: rate, burst, mode, now, tokens ('' = keep), guard field ('' = none),
# guard seconds, required mode ('' = any), ttl ms. Returns 1 when applied, 0 when guarded.
_SET_PACE = """
local now = tonumber(ARGV[4])
local mode = redis.call('HGET', KEYS[1], 'mode')
if ARGV[8] ~= '' and mode ~= ARGV[8] then return 0 end
if ARGV[6] ~= '' then
  local last = tonumber(redis.call('HGET', KEYS[1], ARGV[6]) or '0') or 0
  if now - last < tonumber(ARGV[7]) then return 0 end
  redis.call('HSET', KEYS[1], ARGV[6], ARGV[4])
end
redis.call('HSET', KEYS[1], 'rate', ARGV[1], 'burst', ARGV[2], 'mode', ARGV[3])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or '')
if ARGV[5] ~= '' and mode ~= ARGV[3] then
  redis.call('HSET', KEYS[1], 'tokens', ARGV[5], 'ts', ARGV[4])
elseif tokens and tokens > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'tokens', ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[9])
return 1
"""

# KEYS: pause, bucket. ARGV: pause ms, now. The pause holds its deadline (so an injected clock
# governs it) and expires by PX shortly after. The server's bucket is empty: drain ours too.
_PAUSE = """
local now = tonumber(ARGV[2])
local until_ts = now + tonumber(ARGV[1]) / 1000
if (tonumber(redis.call('GET', KEYS[1]) or '0') or 0) < until_ts then
  redis.call('SET', KEYS[1], tostring(until_ts), 'PX', tonumber(ARGV[1]) + 1000)
end
local tokens = tonumber(redis.call('HGET', KEYS[2], 'tokens') or '')
if tokens and tokens > 0 then
  redis.call('HSET', KEYS[2], 'tokens', '0', 'ts', ARGV[2])
end
return 1
"""


def _num(value: float) -> str:
    return repr(float(value))


class SharedRateLimiter:
    """The writer's rate limit: one instance per replica, all sharing `writer:bucket`."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        options: WriterOptions,
        clock: Clock,
        metrics: WriterMetrics,
    ) -> None:
        self._redis = client
        self.bucket_key = keys("writer", "bucket")
        self.pause_key = keys("writer", "pause")
        self._take = client.register_script(_TAKE)
        self._set_pace = client.register_script(_SET_PACE)
        self._pause = client.register_script(_PAUSE)
        self._options = options
        self._clock = clock
        self._metrics = metrics
        self._server: tuple[Pace, float] | None = None
        """Last server pace this replica wrote, with the time it did."""
        self._rate_seen = options.rate_limit_per_second
        self._aimd_next: float | None = None
        """When this replica may next raise an AIMD pace; None while it has not backed off."""
        self._responses: deque[float] = deque()

    async def acquire(self) -> float:
        """Wait for this replica's turn; returns the seconds waited."""
        waited = 0.0
        cap = self._options.max_wait_seconds
        while True:
            code, wait_ms, rate_milli = await self._take(
                keys=[self.bucket_key, self.pause_key],
                args=[
                    _num(self._clock.now()),
                    _num(self._options.rate_limit_per_second),
                    _num(self._options.rate_limit_burst),
                    BUCKET_TTL_MS,
                ],
            )
            self._rate_seen = int(rate_milli) / 1000
            seconds = min(int(wait_ms) / 1000, cap)
            if seconds > 0:
                await self._clock.sleep(seconds)
                waited += seconds
            if int(code) < 0:
                continue  # paused: take a token only once the pause is over
            if seconds > 0:
                pause = await self._pause_left()
                if pause > 0:
                    await self._clock.sleep(min(pause, cap))
                    waited += min(pause, cap)
            break
        self._metrics.waited(waited)
        return waited

    async def _pause_left(self) -> float:
        """Seconds left of a pause another replica set while this one slept."""
        raw = await self._redis.get(self.pause_key)
        try:
            until = float(raw) if raw is not None else 0.0
        except ValueError:
            return 0.0
        return max(0.0, until - self._clock.now())

    async def pause(self, seconds: float | None) -> None:
        """Stop every replica for `seconds` (a 429's Retry-After)."""
        wait = min(seconds if seconds else DEFAULT_PAUSE_SECONDS, self._options.max_wait_seconds)
        await self._pause(
            keys=[self.pause_key, self.bucket_key],
            args=[max(1, int(wait * 1000)), _num(self._clock.now())],
        )
        log.warning("confluence rate limited", pause_seconds=wait)

    async def observe(self, headers: Mapping[str, str], status: int | None) -> None:
        """Learn from one response: the server's pace, or an AIMD step without headers."""
        now = self._clock.now()
        self._responses.append(now)
        while self._responses and self._responses[0] < now - 2.0:
            self._responses.popleft()
        learned = server_pace(headers, safety=self._options.rate_limit_safety)
        if learned is not None:
            await self._adopt_server_pace(learned.pace, learned.remaining, now)
        elif status == 429:
            await self._back_off(now)
        elif self._aimd_next is not None and now >= self._aimd_next and status is not None:
            self._aimd_next = now + 1.0
            await self._speed_up(now)

    async def _adopt_server_pace(self, pace: Pace, remaining: float | None, now: float) -> None:
        self._aimd_next = None
        if self._server is not None:
            known, when = self._server
            if known == pace and 0 <= now - when < PACE_REFRESH_SECONDS:
                return
        await self._write_pace(pace, "server", now, tokens=remaining)
        if self._server is None or self._server[0] != pace:
            log.info("confluence pace learned", rate=pace.rate, burst=pace.burst)
        self._server = (pace, now)

    async def _back_off(self, now: float) -> None:
        observed = len(self._responses) / 2.0
        floor = self._options.rate_limit_min_per_second
        rate = decrease(self._rate_seen, observed=observed, floor=floor)
        self._aimd_next = now + 1.0
        await self._write_pace(
            Pace(rate=rate, burst=max(1.0, rate)), "aimd", now, tokens=0.0, guard="down_ts"
        )

    async def _speed_up(self, now: float) -> None:
        rate = increase(self._rate_seen, step=self._options.rate_limit_step_per_second)
        await self._write_pace(
            Pace(rate=rate, burst=max(1.0, rate)), "aimd", now, guard="up_ts", require="aimd"
        )

    async def _write_pace(
        self,
        pace: Pace,
        mode: str,
        now: float,
        *,
        tokens: float | None = None,
        guard: str = "",
        require: str = "",
    ) -> None:
        applied = await self._set_pace(
            keys=[self.bucket_key],
            args=[
                _num(pace.rate),
                _num(pace.burst),
                mode,
                _num(now),
                "" if tokens is None else _num(tokens),
                guard,
                _num(1.0),
                require,
                BUCKET_TTL_MS,
            ],
        )
        if int(applied):
            self._rate_seen = pace.rate
