"""Settings of one Okta simulator instance: credentials, directory size, limits, clock.

Built by the CLI (`__main__`) or by tests; the clock is injectable so token expiry, rate-limit
windows and System Log times can be tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_LIMITS: dict[str, int] = {
    "users": 600,
    "user": 2000,
    "groups": 500,
    "group": 1000,
    "logs": 120,
    "token": 600,
    "other": 1200,
}
"""Requests per minute per endpoint bucket (idp-apis.md §2.5, Workforce column)."""


@dataclass(frozen=True, slots=True)
class OktaSimConfig:
    api_token: str = "okta-sim-token"
    """The SSWS API token the org accepts."""
    client_id: str | None = None
    """OAuth service app (private_key_jwt); None: only SSWS works until one is registered."""
    public_key_pem: str | None = None
    client_scopes: tuple[str, ...] = ("okta.users.read", "okta.groups.read", "okta.logs.read")
    users: int = 1000
    groups: int = 50
    memberships: int = 5000
    seed: int = 1
    token_ttl: int = 3600
    """OAuth access token lifetime (Okta's is fixed at one hour)."""
    base_url: str = "http://127.0.0.1:8092"
    """Public URL of the org; in `Link` headers and the token audience."""
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    log_retention_seconds: int = 90 * 86400
    """System Log retention; an older `since` is refused (400)."""
    clock: Callable[[], float] = field(default=time.time)
    """Wall clock in epoch seconds."""
