"""Settings of the reconciler's rules: group filters and names, attribute mapping,
correlation, the deprovisioning grace period and inactivity cleanup (per directory), and
the multi-directory precedence (under `confluence`).

Only shape and syntax are checked here (regular expressions compile, policies fit the
attribute); CEL expressions are compiled by the reconciler at start, which names the
directory and the attribute of a bad one. A group pattern is a plain name (compared
case-insensitively) or `re:<regex>` (matched in full, case-insensitively).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from roster.shared.settings.base import Section

REGEX_PREFIX = "re:"


def check_pattern(pattern: str) -> str:
    if not pattern.strip():
        raise ValueError("a group pattern must not be empty")
    if pattern.startswith(REGEX_PREFIX):
        try:
            re.compile(pattern[len(REGEX_PREFIX) :])
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
    return pattern


def _check_patterns(patterns: list[str]) -> list[str]:
    return [check_pattern(p) for p in patterns]


class GroupRewrite(Section):
    pattern: str
    """Regular expression searched in the group name (case-insensitive)."""
    replace: str
    """Replacement, with `\\1` / `\\g<name>` back-references."""

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
        return value


class GroupNames(Section):
    """IdP group name → Confluence group name. An explicit `map` entry wins; otherwise the
    `rewrite` rules apply in order, then `case`, then `prefix` and `suffix`."""

    map: dict[str, str] = Field(default_factory=dict)
    """IdP name (case-insensitive) → Confluence name."""
    rewrite: list[GroupRewrite] = Field(default_factory=list)
    case: Literal["lower", "kebab", "snake"] = "lower"
    """Confluence compares names in lower case; `kebab` / `snake` also turn runs of spaces,
    dots and underscores/dashes into one `-` / `_`."""
    prefix: str = ""
    suffix: str = ""


class GroupRules(Section):
    required: list[str] = Field(default_factory=list)
    """Group patterns: when given, a user is in scope only as a member of at least one."""
    include: list[str] = Field(default_factory=list)
    """Group patterns: when given, only matching IdP groups become Confluence groups."""
    exclude: list[str] = Field(default_factory=list)
    """Group patterns never mapped to Confluence groups (wins over `include`)."""
    flatten_nested: bool = False
    """Members of a child group (`parent_id`) count as members of every ancestor."""
    names: GroupNames = GroupNames()

    _required = field_validator("required", "include", "exclude")(_check_patterns)


WhenEmpty = Literal["keep-raw", "skip", "clear", "leave-out"]


class AttributeRule(Section):
    expr: str = Field(min_length=1)
    """CEL expression over the IdP user (see docs/rules.md for variables and helpers)."""
    when_empty: WhenEmpty = "keep-raw"
    """When the expression yields nothing: use the IdP's own value (`keep-raw`), leave the
    Confluence value alone (`skip`), set it empty (`clear`), or do not provision the user
    (`leave-out`)."""


class AttributeMapping(Section):
    username: AttributeRule | None = None
    display_name: AttributeRule | None = None
    email: AttributeRule | None = None

    @model_validator(mode="after")
    def _username_policy(self) -> AttributeMapping:
        if self.username is not None and self.username.when_empty in ("skip", "clear"):
            raise ValueError(
                "username.when_empty: a username cannot be skipped or cleared; "
                "use 'keep-raw' or 'leave-out'"
            )
        return self


class CleanupSettings(Section):
    inactive_days: int = Field(ge=1)
    """Deactivate this directory's users whose last Confluence login is older than this."""
    include_never_logged_in: bool = False
    """Also deactivate users Confluence reports as never logged in."""
    groups: list[str] = Field(default_factory=list)
    """Group patterns: when given, only members of matching (read) groups are cleaned up."""

    _groups = field_validator("groups")(_check_patterns)


Correlation = Literal["username", "email"]
