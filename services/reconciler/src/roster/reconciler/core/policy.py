"""The rules a plan obeys besides the desired state: deprovisioning and protection.

Built from the directory's and Confluence's settings by the composition root; the safety
holds and mass-change thresholds of later issues belong here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from roster.shared.config import ConfluenceSettings, DirectorySettings

Deprovision = Literal["deactivate", "delete", "remove-groups-only", "none"]


@dataclass(frozen=True)
class Policy:
    directory: str
    deprovision: Deprovision = "deactivate"
    """What happens to a linked user that left the IdP or became inactive there."""
    protected_users: frozenset[str] = frozenset({"admin"})
    """Lower-case usernames no command ever touches."""
    protected_groups: frozenset[str] = frozenset()
    """Lower-case groups never created, removed from, or mapped from an IdP group; a
    protected group only receives members when it is one of the directory's default groups."""

    @classmethod
    def from_settings(cls, directory: DirectorySettings, confluence: ConfluenceSettings) -> Policy:
        return cls(
            directory=directory.id,
            deprovision=directory.deprovision,
            protected_users=frozenset(u.lower() for u in confluence.protected_users),
            protected_groups=frozenset(g.lower() for g in confluence.protected_groups),
        )

    def protects_user(self, username: str) -> bool:
        return username.lower() in self.protected_users

    def protects_group(self, group: str) -> bool:
        return group.lower() in self.protected_groups
