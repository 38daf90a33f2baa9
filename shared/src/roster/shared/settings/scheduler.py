"""Settings of the scheduler's admin surfaces: API tokens with roles, per-directory cron
schedules, and how long run history is kept.

Decides who may use the admin API and web UI (bearer tokens, each with the role `viewer`
or `operator`; only references here, never values), when each directory syncs (cron
expressions, spread so directories do not all start at once), and how many runs and how
many days of history Redis keeps.
"""

from __future__ import annotations

from typing import Literal

from croniter import croniter
from pydantic import Field, field_validator, model_validator

from roster.shared.settings.base import SecretRef, Section

Role = Literal["viewer", "operator"]


class ApiToken(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    """Who holds the token; recorded as the decider of approvals and shown in the UI."""
    role: Role = "viewer"
    """`viewer` reads; `operator` also starts syncs and approves or rejects held runs."""
    token: SecretRef
    """Where the token's value is (environment variable or file)."""


class SchedulerAuth(Section):
    enabled: bool = True
    """Off only for a scheduler bound to loopback in a lab: then every caller is an operator."""
    tokens: list[ApiToken] = Field(default_factory=list)
    """Accepted bearer tokens. With auth enabled and no token, every request gets 401."""

    @model_validator(mode="after")
    def _unique_names(self) -> SchedulerAuth:
        names = [t.name for t in self.tokens]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise ValueError(f"token name '{duplicate}' is given twice")
        return self


def _cron(value: str | None) -> str | None:
    if value is not None and not croniter.is_valid(value):
        raise ValueError(f"'{value}' is not a cron expression (five fields: m h dom mon dow)")
    return value


class ScheduleSettings(Section):
    """When one directory syncs on its own; every expression is UTC cron (`m h dom mon dow`)."""

    full: str | None = None
    """Full syncs, e.g. `0 2 * * *` (02:00 every day)."""
    delta: str | None = None
    """Incremental syncs for connectors that poll (e.g. `*/15 * * * *`)."""
    cleanup: str | None = None
    """The inactive-user cleanup job: a full sync whose plan includes the `cleanup` rules."""
    spread_seconds: int | None = Field(default=None, ge=0, le=3600)
    """Delay after the cron time before this directory starts. Default: a stable delay
    derived from the directory id, up to 5 minutes, so directories do not all start at once."""

    _valid = field_validator("full", "delta", "cleanup")(_cron)


class RetentionSettings(Section):
    days: int = Field(default=30, ge=1, le=3650)
    """Runs that started longer ago than this are removed with their results."""
    max_runs: int = Field(default=1000, ge=1, le=1_000_000)
    """At most this many runs are kept; the oldest go first."""
    sweep_seconds: float = Field(default=300.0, gt=0, le=86400)
    """How often the scheduler removes expired runs."""
