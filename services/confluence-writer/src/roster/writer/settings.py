"""The writer's tuning knobs, read from `config.writer` / `config.confluence` with defaults.

Fields the shared configuration tree already has are used as they are (`concurrency`,
`batch_size`, `max_attempts`, `dry_run`, `timeout_seconds`); the others are read with
`getattr` and a default until shared config grows them, so adding a field there needs no
change here. Nothing reads the environment directly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from roster.shared.config import RosterConfig

EmailLookup = Literal["all", "requested", "none"]


@dataclass(frozen=True)
class WriterOptions:
    concurrency: int = 16
    """Commands (of different keys) executed at once by one replica."""
    batch_size: int = 200
    max_attempts: int = 5
    """Attempts per HTTP request on transient errors (5xx, timeouts, dropped connections)."""
    dry_run: bool = False
    timeout_seconds: float = 30.0
    rate_limit_per_second: float = 0.0
    """Starting pace for all replicas together, requests/s; 0 = unlimited until the server
    sends X-RateLimit headers or a 429."""
    rate_limit_burst: float = 10.0
    """Starting bucket capacity, requests (until the server's X-RateLimit-Limit is known)."""
    rate_limit_safety: float = 0.97
    """Share of the server's advertised rate (and bucket) the writer uses."""
    rate_limit_min_per_second: float = 1.0
    """Floor of the AIMD pace used when the server sends 429 without rate-limit headers."""
    rate_limit_step_per_second: float = 1.0
    """AIMD additive increase, requests/s added per quiet second."""
    max_429: int = 20
    """429 answers tolerated per request before it is reported as a transient failure."""
    max_wait_seconds: float = 120.0
    """Longest single pause the writer honours (a larger Retry-After is capped)."""
    backoff_base_seconds: float = 0.2
    backoff_max_seconds: float = 10.0
    command_timeout_seconds: float = 300.0
    """Longest one command may take (rate-limit waits included) before it is reported failed
    (not permanent)."""
    read_timeout_seconds: float = 600.0
    """Longest one ReadConfluenceState may take before it is reported with an error."""
    batch_budget_seconds: float = 840.0
    """All work of one Kafka batch ends within this: later commands are answered unexecuted
    (failed, not permanent). Must stay below the consumer's max_poll_interval (900 s)."""
    longtask_poll_seconds: float = 0.5
    longtask_timeout_seconds: float = 120.0
    done_ttl_seconds: int = 7 * 24 * 3600
    inflight_ttl_seconds: int = 24 * 3600
    state_page_size: int = 500
    """Users (and member pairs) per ConfluenceStatePage."""
    read_emails: EmailLookup = "all"
    """Whose email a snapshot reads (one JSON-RPC call per user: REST never returns email)."""

    @classmethod
    def from_config(cls, config: RosterConfig, **overrides: Any) -> WriterOptions:
        values: dict[str, Any] = {}
        for f in fields(cls):
            for section in (config.writer, config.confluence):
                if hasattr(section, f.name):
                    values[f.name] = getattr(section, f.name)
                    break
        values.update(overrides)
        return cls(**values)

    def __post_init__(self) -> None:
        if self.read_emails not in ("all", "requested", "none"):
            raise ValueError(f"read_emails must be all, requested or none: {self.read_emails!r}")
        if not 0 < self.rate_limit_safety <= 1:
            raise ValueError("rate_limit_safety must be in (0, 1]")
