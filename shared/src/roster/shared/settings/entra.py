"""Settings of a Microsoft Entra ID directory (kind `entra`, Microsoft Graph, idp-apis.md §1).

The app registration's client secret is a `SecretRef`; tenant and client ids are plain
configuration. Membership is read direct (`/members`) or transitive (`/transitiveMembers`).
Change-notification subscriptions need `fetcher.public_url` (Graph must reach the fetcher).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from roster.shared.settings.base import SecretRef, Section

Resource = Literal["/users", "/groups"]
RESOURCES: tuple[Resource, ...] = ("/users", "/groups")
MAX_SUBSCRIPTION_MINUTES = 41760
"""Longest lifetime Graph grants a subscription on users/groups (idp-apis.md §1.5)."""


class EntraSubscriptionSettings(Section):
    """Graph change-notification subscriptions that trigger delta syncs."""

    enabled: bool = True
    """Create and renew subscriptions (only when `fetcher.public_url` is set)."""
    resources: list[Resource] = Field(default_factory=lambda: list(RESOURCES))
    lifetime_minutes: int = Field(default=4320, ge=45, le=MAX_SUBSCRIPTION_MINUTES)
    """Requested subscription lifetime; Graph's maximum for directory objects is 41,760."""
    renew_before_minutes: int = Field(default=720, ge=1)
    """A subscription is renewed (PATCH expirationDateTime) this long before it expires."""
    check_interval_seconds: float = Field(default=300.0, gt=0)
    """How often the renewal task looks at the subscriptions' expiry."""


class EntraSettings(Section):
    tenant_id: str = Field(min_length=1)
    """Directory (tenant) id or a verified domain of the tenant."""
    client_id: str = Field(min_length=1)
    """Application (client) id of the app registration."""
    client_secret: SecretRef
    graph_url: str = "https://graph.microsoft.com"
    login_url: str = "https://login.microsoftonline.com"
    """Authority host; the token endpoint is `{login_url}/{tenant_id}/oauth2/v2.0/token`."""
    scope: str = "https://graph.microsoft.com/.default"
    """Token scope: the Graph resource plus `/.default` (national clouds differ)."""
    membership: Literal["direct", "transitive"] = "direct"
    """`direct` reads `/groups/{id}/members`; `transitive` reads `/transitiveMembers`
    (users of nested groups count as members of the outer group)."""
    page_size: int = Field(default=999, ge=1, le=999)
    """`$top` for users, groups and members (Graph's maximum is 999)."""
    subscriptions: EntraSubscriptionSettings = EntraSubscriptionSettings()

    @model_validator(mode="after")
    def _renew_inside_lifetime(self) -> EntraSettings:
        if self.subscriptions.renew_before_minutes >= self.subscriptions.lifetime_minutes:
            raise ValueError(
                "subscriptions.renew_before_minutes must be shorter than "
                "subscriptions.lifetime_minutes"
            )
        return self
