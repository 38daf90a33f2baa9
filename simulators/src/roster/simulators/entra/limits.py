"""Access tokens and throttling of the simulated tenant, the two reasons Graph says no.

Tokens are opaque lookups with an expiry on the injected clock (Entra's are JWTs; clients must
not parse them). Throttling is Graph's identity-and-access token bucket of resource units per
10 s (idp-apis.md §1.6) plus a switchable "429 storm" for tests. No HTTP here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field


class TokenIssuer:
    def __init__(self, *, ttl: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        """Lifetime in seconds of tokens issued from now on."""
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self.issued = 0

    def issue(self) -> dict[str, object]:
        now = self._clock()
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(48)
        if len(self._expiry) > 10_000:
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
        self._expiry[token] = now + self.ttl
        self.issued += 1
        return {
            "token_type": "Bearer",
            "expires_in": self.ttl,
            "ext_expires_in": self.ttl,
            "access_token": token,
        }

    def check(self, token: str) -> str | None:
        """None when valid, else why not (Graph's `InvalidAuthenticationToken` message)."""
        expiry = self._expiry.get(token)
        if expiry is None:
            return "Access token validation failure. Invalid audience."
        if self._clock() >= expiry:
            return "Lifetime validation failed, the token is expired."
        return None

    def expire_all(self) -> int:
        count = len(self._expiry)
        now = self._clock()
        self._expiry = dict.fromkeys(self._expiry, now)
        return count


def request_cost(path: str, query: dict[str, str]) -> int:
    """Resource units of one GET (idp-apis.md §1.6): users 2, members 3, transitive 5."""
    if path.endswith("/transitiveMembers"):
        cost = 5
    elif path.endswith("/members"):
        cost = 3
    elif path.rstrip("/").endswith("/users"):
        cost = 2
    else:
        cost = 1
    if "$select" in query:
        cost -= 1
    return max(1, cost)


@dataclass
class Throttle:
    limit_ru: int = 0
    """Resource units per 10 s; 0 = unlimited."""
    storm: int = 0
    """The next `storm` Graph requests are answered 429 whatever the bucket says."""
    storm_retry_after: int = 2
    clock: Callable[[], float] = field(default=lambda: 0.0)
    _level: float = 0.0
    _at: float | None = None
    throttled: int = 0

    def admit(self, cost: int) -> tuple[bool, int, float]:
        """(allowed, retry-after seconds, fill share 0–1 after the request)."""
        if self.storm > 0:
            self.storm -= 1
            self.throttled += 1
            return False, self.storm_retry_after, 1.0
        if self.limit_ru <= 0:
            return True, 0, 0.0
        now = self.clock()
        if self._at is not None:
            drained = (now - self._at) * self.limit_ru / 10.0
            self._level = max(0.0, self._level - drained)
        self._at = now
        if self._level + cost > self.limit_ru:
            self.throttled += 1
            wait = (self._level + cost - self.limit_ru) * 10.0 / self.limit_ru
            return False, max(1, int(wait + 0.999)), self._level / self.limit_ru
        self._level += cost
        return True, 0, self._level / self.limit_ru
