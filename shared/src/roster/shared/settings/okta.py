"""Settings of an Okta org (kind `okta`, idp-apis.md §2).

Two ways to authenticate, exactly one configured: an SSWS API token, or an OAuth 2.0 service
app (client credentials with `private_key_jwt`: the connector signs the client assertion with
the configured private key). Both secrets are `SecretRef`s. Page sizes are capped at the
documented maxima; rate-limit pacing keeps a reserve of each endpoint's per-minute budget.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from roster.shared.settings.base import SecretRef, Section

GroupType = Literal["OKTA_GROUP", "APP_GROUP", "BUILT_IN"]


def _default_types() -> list[GroupType]:
    return ["OKTA_GROUP", "APP_GROUP"]


class OktaOAuthSettings(Section):
    """An API Services app: client credentials, `private_key_jwt` client authentication."""

    client_id: str = Field(min_length=1)
    private_key: SecretRef
    """PEM private key (RSA) whose public half is registered on the app."""
    key_id: str | None = None
    """`kid` put in the client assertion header (when the app has several keys)."""
    scopes: list[str] = Field(
        default_factory=lambda: ["okta.users.read", "okta.groups.read", "okta.logs.read"]
    )


class OktaEventHookSettings(Section):
    """Okta Event Hook deliveries to `/webhooks/okta/<directory>`."""

    authorization: SecretRef
    """The static secret Okta sends in `header` on every delivery (set when the hook is made)."""
    header: str = "Authorization"
    dedupe_ttl_seconds: int = Field(default=86400, ge=60)
    """How long an event `uuid` is remembered, so a redelivery triggers nothing."""


class OktaSettings(Section):
    org_url: str = Field(min_length=8)
    """`https://<org>.okta.com` (no path)."""
    api_token: SecretRef | None = None
    """SSWS API token (`Authorization: SSWS <token>`)."""
    oauth: OktaOAuthSettings | None = None
    users_page_size: int = Field(default=200, ge=1, le=200)
    groups_page_size: int = Field(default=200, ge=1, le=200)
    members_page_size: int = Field(default=1000, ge=1, le=1000)
    logs_page_size: int = Field(default=1000, ge=1, le=1000)
    group_types: list[GroupType] = Field(default_factory=_default_types)
    """Group types synced; `BUILT_IN` is the `Everyone` group."""
    include_deprovisioned: bool = True
    """Also list DEPROVISIONED users (Okta omits them by default) so they arrive inactive."""
    rate_limit_reserve: float = Field(default=0.1, ge=0.0, lt=1.0)
    """Share of an endpoint's per-minute limit left unused: below it, wait for the reset."""
    max_pace_wait_seconds: float = Field(default=65.0, gt=0)
    """Longest pause for a rate-limit window to reset before a request."""
    event_hook: OktaEventHookSettings | None = None

    @model_validator(mode="after")
    def _one_auth(self) -> OktaSettings:
        if (self.api_token is None) == (self.oauth is None):
            raise ValueError("give exactly one of 'api_token' or 'oauth'")
        if not self.org_url.startswith(("http://", "https://")):
            raise ValueError("org_url must start with https:// (or http:// for a simulator)")
        return self
