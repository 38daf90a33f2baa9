"""Settings of one Confluence DC simulator instance: which version it imitates and how it is set up.

Versions gate endpoints (an endpoint a release did not ship answers 404); everything else here
is start-up configuration that the `/_sim/*` control routes may later change at run time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from roster.simulators.confluence.ratelimit import RateLimitSettings

Version = tuple[int, int]

SUPPORTED_VERSIONS: tuple[str, ...] = ("7.13", "8.2", "8.4", "9.3")

V8_2: Version = (8, 2)
"""Admin group/membership endpoints and user disable/enable/delete (reference §1.3–1.5)."""
V8_4: Version = (8, 4)
"""`POST /rest/api/admin/user` and `GET /rest/api/user/list` (CONFSERVER-87291/87292)."""
V9_3: Version = (9, 3)
"""`GET /rest/api/admin/users/list/active` (CONFSERVER-37100) and, by our choice, user update."""

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?$")


def parse_version(text: str) -> Version:
    match = _VERSION.match(text.strip())
    if match is None:
        raise ValueError(f"not a Confluence version: {text!r} (expected e.g. 8.4)")
    version = (int(match.group(1)), int(match.group(2)))
    if not (7, 1) <= version <= (9, 3):
        raise ValueError(f"version {text} is outside the simulated range 7.1 – 9.3")
    return version


@dataclass(slots=True)
class SimConfig:
    """Everything `create_app` needs; the CLI in `__main__` fills it from flags."""

    version: str = "8.4"
    admin_user: str = "admin"
    admin_password: str = "admin"
    token: str | None = None
    """Personal access token accepted as `Authorization: Bearer <token>` for the admin user."""
    rpc_accepts_bearer: bool = True
    """Whether `/rpc/*` takes the PAT too (reference §9 open question 4: unverified)."""
    seats: int | None = None
    """Licence seats; `None` is unlimited. Deactivated users do not count."""
    default_group: str | None = "confluence-users"
    """Group a user created through REST or RPC joins, as the product's default user group
    does (BELIEVED); `None` turns it off. Seeded users join only the groups they list."""
    ratelimit: RateLimitSettings = field(default_factory=RateLimitSettings)
    users_file: Path | None = None
    clock: Callable[[], float] = time.monotonic
    """Monotonic seconds for the rate limiter; tests pass a fake clock."""
    log_limit: int = 1_000_000

    @property
    def parsed_version(self) -> Version:
        return parse_version(self.version)
