"""Settings of the safety net: when a run's plan is held for an administrator's approval.

Per directory (`directories[].safety`). Every limit is on by default; `0` disables that one
limit. A full sync is held when its deactivations + deletions exceed `max_removals` or
`max_removal_percent` of the directory's managed (linked) users, when the IdP snapshot is
empty while users are managed, or when it shrank by more than `max_shrink_percent` against
the last good snapshot. Delta and single-user runs are held when the removals of the last
`window_minutes` (this run's included) exceed `max_window_removals`.
"""

from __future__ import annotations

from pydantic import Field

from roster.shared.settings.base import Section


class SafetySettings(Section):
    max_removals: int = Field(default=50, ge=0)
    """A full sync deactivating + deleting more users than this is held (0: no limit)."""
    max_removal_percent: float = Field(default=10.0, ge=0, le=100)
    """... or more than this share of the directory's managed (linked) users (0: no limit)."""
    percent_min_removals: int = Field(default=5, ge=1)
    """The share rule applies from this many removals on (a 10-user directory losing one
    user is 10 % but no accident)."""
    hold_empty_snapshot: bool = True
    """An IdP snapshot with no user is held while the directory manages users."""
    max_shrink_percent: float = Field(default=30.0, ge=0, le=100)
    """Users fell by more than this share against the last good snapshot (0: no check)."""
    window_minutes: int = Field(default=60, ge=1)
    """The rolling window of delta / single-user runs' removals."""
    max_window_removals: int = Field(default=50, ge=0)
    """Delta / single-user runs are held when the window's removals would exceed this
    (0: no limit)."""
