"""The rule inputs of one plan besides desired state, actual state and `Policy`.

Correlation attribute, administrator groups, multi-directory precedence with the other
directories' claims, the grace period with its deactivation times, and inactivity cleanup.
Values only: the planner loads them from settings and Redis; defaults are the safe rules
(administrators protected, no sharing, no grace, no cleanup).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from roster.reconciler.core.desired import DEFAULT_WATCH_GROUPS
from roster.shared.config import ConfluenceSettings, DirectorySettings
from roster.shared.settings.rules import CleanupSettings, Correlation


@dataclass(frozen=True, slots=True)
class Claim:
    """What one directory wants for one Confluence username (stored after each run)."""

    subject: str
    display_name: str
    email: str
    active: bool


Claims = Mapping[str, Claim]
"""Username → claim, of one directory."""


@dataclass(frozen=True)
class PlanRules:
    correlate_by: Correlation = "username"
    admin_groups: tuple[str, ...] = DEFAULT_WATCH_GROUPS
    """Members of these groups are never changed."""
    precedence: tuple[str, ...] = ()
    """Directory ids, first wins; only listed directories share usernames."""
    claims: Mapping[str, Claims] = field(default_factory=dict)
    """Other directories' claims (directory id → claims)."""
    delete_after_days: int | None = None
    deprovisioned_at: Mapping[str, datetime] = field(default_factory=dict)
    """Username → when this directory deprovisioned (deactivated) it."""
    cleanup: CleanupSettings | None = None
    cleaned_up: Mapping[str, datetime] = field(default_factory=dict)
    """Username → when inactivity cleanup deactivated it (not reactivated by syncs)."""

    def shared(self, directory: str, other: str) -> bool:
        return directory != other and directory in self.precedence and other in self.precedence

    def rank(self, directory: str) -> int:
        return self.precedence.index(directory) if directory in self.precedence else 1 << 30


def plan_rules(
    directory: DirectorySettings,
    confluence: ConfluenceSettings,
    *,
    claims: Mapping[str, Claims] | None = None,
    deprovisioned_at: Mapping[str, datetime] | None = None,
    cleaned_up: Mapping[str, datetime] | None = None,
) -> PlanRules:
    precedence = tuple(dict.fromkeys(confluence.directory_precedence))
    grace = directory.delete_after_days if directory.deprovision == "deactivate" else None
    return PlanRules(
        correlate_by=directory.correlate_by,
        admin_groups=tuple(g.strip().lower() for g in confluence.administrator_groups),
        precedence=precedence,
        claims={d: c for d, c in (claims or {}).items() if precedence and d in precedence},
        delete_after_days=grace,
        deprovisioned_at=deprovisioned_at or {},
        cleanup=directory.cleanup,
        cleaned_up=cleaned_up or {},
    )
