"""Settings of a Google Workspace directory (kind `google`, idp-apis.md §3).

The service-account key file is a secret (`SecretRef` to the JSON key file or to an
environment variable holding its JSON); the admin the service account impersonates through
domain-wide delegation is plain configuration. Page sizes are capped at the API's maxima.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from roster.shared.settings.base import SecretRef, Section

WatchEvent = Literal["add", "delete", "update", "undelete", "makeAdmin"]
DEFAULT_WATCH_EVENTS: tuple[WatchEvent, ...] = ("add", "delete", "update", "undelete")


class GoogleWatchSettings(Section):
    """`users.watch` push channels (one per event type); needs `fetcher.public_url`."""

    enabled: bool = True
    events: list[WatchEvent] = Field(default_factory=lambda: list(DEFAULT_WATCH_EVENTS))
    """User events to watch; the API takes one event per channel, so one channel each."""
    ttl_seconds: int = Field(default=21600, ge=60, le=172800)
    """Requested channel lifetime (Google's maximum is 2 days)."""
    renew_before_seconds: int = Field(default=900, ge=10)
    """A channel is replaced (and the old one stopped) this long before it expires."""
    check_interval_seconds: float = Field(default=60.0, gt=0)
    """How often the renewal task looks at the channels' expiry."""


class GoogleSettings(Section):
    credentials: SecretRef
    """The service account's JSON key file (`{file: ...}`) or its JSON in a variable."""
    subject: str = Field(min_length=3)
    """Admin user the service account impersonates (domain-wide delegation `sub`)."""
    customer: str = "my_customer"
    domain: str | None = None
    """List only this domain's users and groups instead of the whole customer."""
    base_url: str = "https://admin.googleapis.com"
    token_uri: str | None = None
    """Overrides the key file's `token_uri` (tests, proxies)."""
    include_derived_membership: bool = False
    """List members of nested groups as members of the outer group too."""
    users_page_size: int = Field(default=500, ge=1, le=500)
    groups_page_size: int = Field(default=200, ge=1, le=200)
    members_page_size: int = Field(default=200, ge=1, le=200)
    reports_page_size: int = Field(default=1000, ge=1, le=1000)
    watch: GoogleWatchSettings = GoogleWatchSettings()
    login_attribute: Literal["primaryEmail", "localPart"] = "primaryEmail"
    """The login (Confluence username) is the primary e-mail, or the part before the `@`."""

    @model_validator(mode="after")
    def _renew_inside_ttl(self) -> GoogleSettings:
        if self.watch.renew_before_seconds >= self.watch.ttl_seconds:
            raise ValueError("watch.renew_before_seconds must be shorter than watch.ttl_seconds")
        return self
