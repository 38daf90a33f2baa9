"""Settings of a `scim` directory: the IdP pushes to Roster's SCIM 2.0 endpoint.

Decides which bearer tokens a directory accepts (several at once, for rotation), how
results are paged, how changes are batched into delta runs and how long the request
history is kept. Tokens are secrets: only references here, never values.
"""

from __future__ import annotations

from pydantic import Field

from roster.shared.settings.base import SecretRef, Section


class ScimSettings(Section):
    tokens: list[SecretRef] = Field(min_length=1)
    """Bearer tokens the IdP may send; more than one while a token is being rotated.
    A token identifies its directory, so it must not be valid for another directory."""
    default_count: int = Field(default=100, ge=1, le=10000)
    """Page size of a list request that gives no `count`."""
    max_count: int = Field(default=1000, ge=1, le=10000)
    """Largest page a list request may ask for (larger `count`s are cut to this)."""
    batch_seconds: float = Field(default=0.5, gt=0, le=60)
    """Accepted changes are batched into one delta run at most this often."""
    history_days: int = Field(default=7, ge=1, le=90)
    """Days the per-hour SCIM request history is kept."""
    history_per_hour: int = Field(default=10000, ge=10, le=1_000_000)
    """Request outcomes kept per hour bucket (counts are always complete)."""
