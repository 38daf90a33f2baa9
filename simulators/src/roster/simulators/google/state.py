"""Everything one Google simulator instance holds, wired from its config.

The customer store, the service account, access tokens, quota, throttle storms, watch
channels, fault switches and the request log live here so handlers receive one object.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field

from roster.simulators.common.faults import Faults, RequestLog
from roster.simulators.directory import generate_directory
from roster.simulators.google.config import GoogleSimConfig
from roster.simulators.google.keys import ServiceAccount
from roster.simulators.google.push import Channels
from roster.simulators.google.store import GUser, Store
from roster.simulators.google.wire import ApiError, user_rep


@dataclass(slots=True)
class Token:
    subject: str
    scopes: frozenset[str]
    expires: float


@dataclass(slots=True)
class Throttle:
    """A storm: the next `remaining` API calls are refused with `status` / `reason`."""

    remaining: int = 0
    status: int = 403
    reason: str = "userRateLimitExceeded"
    retry_after: int | None = None


@dataclass
class SimState:
    config: GoogleSimConfig
    store: Store
    account: ServiceAccount
    channels: Channels
    faults: Faults = field(default_factory=Faults)
    requests: RequestLog = field(default_factory=RequestLog)
    tokens: dict[str, Token] = field(default_factory=dict)
    token_ttl: int = 3600
    quota_per_minute: int = 2400
    report_lag_seconds: float = 0.0
    """Activities appear in the Reports API this long after they happened (real: minutes)."""
    throttle: Throttle = field(default_factory=Throttle)
    _window: deque[float] = field(default_factory=deque)

    @property
    def token_uri(self) -> str:
        return self.config.base_url.rstrip("/") + "/token"

    def key_file(self) -> dict[str, object]:
        return self.account.key_file(project_id="roster-sim", token_uri=self.token_uri)

    def issue(self, subject: str, scopes: frozenset[str]) -> tuple[str, int]:
        token = "ya29.sim-" + secrets.token_urlsafe(32)
        self.tokens[token] = Token(subject, scopes, self.config.clock() + self.token_ttl)
        return token, self.token_ttl

    def authorize(self, header: str | None, *, scopes: tuple[str, ...]) -> Token:
        """The caller's token if valid and holding one of `scopes`; else Google's 401 / 403."""
        if not header or not header.startswith("Bearer "):
            raise ApiError(
                401,
                "Request is missing required authentication credential. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
                "required",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        token = self.tokens.get(header[7:].strip())
        if token is None or token.expires <= self.config.clock():
            raise ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
                "authError",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        admin = self.store.user(token.subject)
        if admin is None or not admin.is_admin:  # no impersonation, or not an admin any more
            raise ApiError(403, "Not Authorized to access this resource/api", "forbidden")
        if not token.scopes.intersection(scopes):
            raise ApiError(403, "Request had insufficient authentication scopes.",
                           "insufficientPermissions")  # fmt: skip
        return token

    def spend_quota(self) -> None:
        """Storms first, then the per-minute per-user quota (a 60-second sliding window)."""
        if self.throttle.remaining > 0:
            self.throttle.remaining -= 1
            t = self.throttle
            headers = {"Retry-After": str(t.retry_after)} if t.retry_after is not None else None
            message = {
                "userRateLimitExceeded": "User Rate Limit Exceeded",
                "rateLimitExceeded": "Rate Limit Exceeded",
                "quotaExceeded": "Quota exceeded for quota metric 'Queries'",
            }.get(t.reason, t.reason)
            raise ApiError(t.status, message, t.reason, domain="usageLimits", headers=headers)
        now = self.config.clock()
        while self._window and self._window[0] <= now - 60:
            self._window.popleft()
        if len(self._window) >= self.quota_per_minute:
            raise ApiError(
                403,
                "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per "
                "user' of service 'admin.googleapis.com'",
                "userRateLimitExceeded",
                domain="usageLimits",
            )
        self._window.append(now)

    def regenerate(self, *, users: int, groups: int, memberships: int, seed: int) -> None:
        self.store.load(
            generate_directory(users, groups, memberships, seed), domain=self.config.domain
        )

    def user_changed(self, event: str, user: GUser) -> None:
        self.channels.notify(event, user_rep(user, self.store))


def build_state(config: GoogleSimConfig) -> SimState:
    store = Store(
        customer_id=config.customer_id,
        clock=config.clock,
        admin_email=config.admin_email,
        seed=config.seed,
    )
    state = SimState(
        config=config,
        store=store,
        account=ServiceAccount.generate(config.client_email),
        channels=Channels(config.clock, RequestLog()),
        token_ttl=config.token_ttl,
        quota_per_minute=config.quota_per_minute,
    )
    state.regenerate(
        users=config.users, groups=config.groups, memberships=config.memberships, seed=config.seed
    )
    store.on_user_change = state.user_changed
    return state
