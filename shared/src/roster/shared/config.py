"""The one YAML configuration file, as a typed tree (DESIGN.md §6).

Every service loads the same file and reads its own section. Environment variables
override any value (`ROSTER_` prefix, nested with `__`, e.g. `ROSTER_KAFKA__BOOTSTRAP_SERVERS`).
Secrets are never in the YAML: they are references to an environment variable or a file.
Invalid configuration raises `ConfigurationError` naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from roster.shared.errors import ConfigurationError
from roster.shared.settings.base import SecretRef, Section
from roster.shared.settings.entra import EntraSettings
from roster.shared.settings.google import GoogleSettings
from roster.shared.settings.okta import OktaSettings
from roster.shared.settings.rules import AttributeMapping, CleanupSettings, Correlation, GroupRules
from roster.shared.settings.safety import SafetySettings
from roster.shared.settings.scheduler import RetentionSettings, SchedulerAuth, ScheduleSettings
from roster.shared.settings.scim import ScimSettings

__all__ = ["SecretRef", "Section"]


class KafkaSettings(Section):
    bootstrap_servers: str = "127.0.0.1:39092"
    topic_prefix: str = ""
    """Prepended to every topic name; lets test stacks share a broker."""
    partitions: int = Field(default=6, ge=1)
    """Partitions of topics Roster creates itself."""
    replication_factor: int = Field(default=1, ge=1)
    group_prefix: str = "roster"
    """Consumer group ids are `<group_prefix>-<service>`."""


class RedisSettings(Section):
    url: str = "redis://127.0.0.1:36379/0"
    key_prefix: str = "roster:"
    """Prepended to every Redis key; lets test stacks share a server."""


class ConfluenceAuth(Section):
    username: str | None = None
    password: SecretRef | None = None
    token: SecretRef | None = None
    """Personal access token (sent as Bearer); preferred over Basic."""

    @model_validator(mode="after")
    def _complete(self) -> ConfluenceAuth:
        if self.token is None and (self.username is None or self.password is None):
            raise ValueError("give 'token', or both 'username' and 'password'")
        return self


class ConfluenceSettings(Section):
    url: str = "http://127.0.0.1:8090"
    version: str = "auto"
    """Confluence version like "8.4", or "auto" to read it from the server at start."""
    auth: ConfluenceAuth = Field(
        default_factory=lambda: ConfluenceAuth(
            username="admin", password=SecretRef(env="CONFLUENCE_PASSWORD")
        )
    )
    timeout_seconds: float = Field(default=30.0, gt=0)
    dry_run: bool = False
    """When true the writer sends no request other than GET."""
    protected_users: list[str] = Field(default_factory=lambda: ["admin"])
    protected_groups: list[str] = Field(
        default_factory=lambda: ["confluence-administrators", "confluence-users"]
    )
    administrator_groups: list[str] = Field(default_factory=lambda: ["confluence-administrators"])
    """Members of these groups are protected like `protected_users` (empty: none)."""
    directory_precedence: list[str] = Field(default_factory=list)
    """Directory ids, first wins: directories listed here may provision the same username;
    the first one with an active user decides display name and email."""


class KeycloakSettings(Section):
    base_url: str
    realm: str
    client_id: str
    client_secret: SecretRef
    page_size: int = Field(default=100, ge=1, le=1000)


KIND_SECTIONS: dict[str, str] = {"keycloak": "keycloak"}
"""Directory kind → the field of `DirectorySettings` holding that kind's connection."""
KIND_SECTIONS["scim"] = "scim"
KIND_SECTIONS["google"] = "google"
KIND_SECTIONS["entra"] = "entra"
KIND_SECTIONS["okta"] = "okta"


class DirectorySettings(Section):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    """Stable id of this IdP connection; used in keys, topics and metrics."""
    kind: Literal["keycloak", "entra", "okta", "google", "onelogin", "ldap", "scim"]
    keycloak: KeycloakSettings | None = None
    scim: ScimSettings | None = None
    google: GoogleSettings | None = None
    entra: EntraSettings | None = None
    okta: OktaSettings | None = None
    default_groups: list[str] = Field(default_factory=list)
    """Confluence groups every provisioned user of this directory is put in."""
    deprovision: Literal["deactivate", "delete", "remove-groups-only", "none"] = "deactivate"
    delete_after_days: int | None = Field(default=None, ge=1)
    """With `deprovision: deactivate`: delete a deprovisioned user this many days later."""
    groups: GroupRules = GroupRules()
    attributes: AttributeMapping = AttributeMapping()
    correlate_by: Correlation = "username"
    """Attribute that adopts an unlinked Confluence user: `username` or `email`."""
    cleanup: CleanupSettings | None = None
    safety: SafetySettings = SafetySettings()
    """Mass-change limits that hold a run for approval (`settings.safety`)."""
    schedule: ScheduleSettings = ScheduleSettings()
    """Cron schedules of full and incremental syncs and of the cleanup job."""

    @model_validator(mode="after")
    def _kind_section(self) -> DirectorySettings:
        section = KIND_SECTIONS.get(self.kind)
        if section is not None and getattr(self, section) is None:
            raise ValueError(f"kind '{self.kind}' needs a '{section}' section")
        return self


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)


class WriterSettings(Section):
    http: HttpSettings = HttpSettings(port=8103)
    concurrency: int = Field(default=16, ge=1, le=256)
    """Commands executed at the same time by one replica (different keys only)."""
    batch_size: int = Field(default=200, ge=1)
    max_attempts: int = Field(default=5, ge=1)
    """HTTP attempts per command for transient errors before reporting it failed."""


class FetcherSettings(Section):
    http: HttpSettings = HttpSettings(port=8101)
    directories: list[str] = Field(default_factory=list)
    """Directory ids this fetcher serves; empty means all configured directories."""
    member_chunk: int = Field(default=1000, ge=1)
    public_url: str | None = None
    """Base URL at which IdPs reach this fetcher's `/webhooks/...` (for subscriptions)."""


class ReconcilerSettings(Section):
    http: HttpSettings = HttpSettings(port=8102)


class SchedulerSettings(Section):
    http: HttpSettings = HttpSettings(port=8100)
    auth: SchedulerAuth = SchedulerAuth()
    """Bearer tokens and roles of the admin API and web UI (`settings.scheduler`)."""
    retention: RetentionSettings = RetentionSettings()
    """How many runs and how many days of run history Redis keeps."""
    fetcher_url: str = "http://127.0.0.1:8101"
    """Where the fetcher serving a directory answers connection checks; `{directory}` in
    it is replaced by the directory id (one fetcher per directory, as in the Helm chart)."""


class RosterConfig(BaseSettings):
    """The whole configuration tree."""

    model_config = SettingsConfigDict(
        env_prefix="ROSTER_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    kafka: KafkaSettings = KafkaSettings()
    redis: RedisSettings = RedisSettings()
    confluence: ConfluenceSettings = ConfluenceSettings()
    directories: Annotated[list[DirectorySettings], Field(default_factory=list)]
    fetcher: FetcherSettings = FetcherSettings()
    reconciler: ReconcilerSettings = ReconcilerSettings()
    writer: WriterSettings = WriterSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _unique_directories(self) -> RosterConfig:
        ids = [d.id for d in self.directories]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"directory ids must be unique: {', '.join(dupes)}")
        unknown = sorted(set(self.confluence.directory_precedence) - set(ids))
        if unknown:
            names = ", ".join(unknown)
            raise ValueError(f"confluence.directory_precedence: unknown directories: {names}")
        return self

    def directory(self, directory_id: str) -> DirectorySettings:
        for d in self.directories:
            if d.id == directory_id:
                return d
        raise ConfigurationError(f"directories: no directory with id {directory_id!r}")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # environment first, so ROSTER_* variables override the YAML file (passed as init)
        return env_settings, init_settings


def _format_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(f"{where}: {err['msg']}")
    return "; ".join(lines)


def parse_config(data: dict[str, Any]) -> RosterConfig:
    try:
        return RosterConfig(**data)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid configuration: {_format_error(exc)}") from exc


def load_config(path: str | Path) -> RosterConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"configuration file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"configuration file {path}: top level must be a mapping")
    return parse_config(raw)
