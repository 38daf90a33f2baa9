"""Settings of one Google Workspace simulator instance: customer, admin, service account, sizes.

Built by the CLI (`__main__`) or by tests; the clock is injectable so token and channel
expiry and report times can be tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

READONLY_SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
    "https://www.googleapis.com/auth/admin.reports.audit.readonly",
)


@dataclass(frozen=True, slots=True)
class GoogleSimConfig:
    users: int = 1000
    groups: int = 50
    memberships: int = 5000
    seed: int = 1
    customer_id: str = "C03az79cb"
    domain: str = "example.com"
    """Primary domain; generated users are spread over it and `corp.example.org`."""
    admin_email: str = "admin@example.com"
    """The super admin a service account may impersonate (JWT `sub`)."""
    client_email: str = "roster-sync@roster-sim.iam.gserviceaccount.com"
    delegated_scopes: tuple[str, ...] = READONLY_SCOPES
    """Scopes granted to the service account's client id by domain-wide delegation."""
    token_ttl: int = 3600
    """Access token lifetime in seconds (Google's is one hour)."""
    quota_per_minute: int = 2400
    """Queries per minute per user per project before 403 `userRateLimitExceeded`."""
    report_retention_days: int = 180
    """The Reports API refuses a `startTime` older than this."""
    base_url: str = "http://127.0.0.1:8094"
    """Public URL of the simulator: the key file's `token_uri` and resource URIs use it."""
    require_https_push: bool = False
    """Real Google accepts only https push addresses; local stacks use http on loopback."""
    clock: Callable[[], float] = field(default=time.time)
    """Wall clock in epoch seconds."""
