"""Group rules of one directory: who is in scope, which IdP groups become Confluence
groups and under which name, and nested-group flattening.

Pure functions over the IdP snapshot; `desired` applies them. A pattern is a plain group
name (case-insensitive) or `re:<regex>` (full match, case-insensitive), as in the settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from roster.reconciler.core.state import IdpSnapshot
from roster.shared.messages.directory import IdpGroup
from roster.shared.settings.rules import REGEX_PREFIX, GroupNames, GroupRules

_SEPARATORS = re.compile(r"[\s._-]+")


@dataclass(frozen=True)
class Patterns:
    raw: tuple[str, ...]
    names: frozenset[str]
    regexes: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, patterns: Iterable[str]) -> Patterns:
        raw = tuple(patterns)
        names = frozenset(p.strip().lower() for p in raw if not p.startswith(REGEX_PREFIX))
        regexes = tuple(
            re.compile(p[len(REGEX_PREFIX) :], re.IGNORECASE)
            for p in raw
            if p.startswith(REGEX_PREFIX)
        )
        return cls(raw, names, regexes)

    def __bool__(self) -> bool:
        return bool(self.raw)

    def matches(self, name: str) -> bool:
        return name.strip().lower() in self.names or any(r.fullmatch(name) for r in self.regexes)

    def describe(self) -> str:
        return ", ".join(f"'{p}'" for p in self.raw)


@dataclass(frozen=True)
class GroupFilter:
    required: Patterns
    include: Patterns
    exclude: Patterns
    flatten_nested: bool
    names: GroupNames

    @classmethod
    def of(cls, rules: GroupRules) -> GroupFilter:
        return cls(
            required=Patterns.of(rules.required),
            include=Patterns.of(rules.include),
            exclude=Patterns.of(rules.exclude),
            flatten_nested=rules.flatten_nested,
            names=rules.names,
        )

    def mapped(self, group: IdpGroup) -> bool:
        """True when this IdP group becomes a Confluence group."""
        if self.exclude.matches(group.name):
            return False
        return not self.include or self.include.matches(group.name)


def map_group_name(idp_name: str, names: GroupNames) -> str:
    """The lower-case Confluence name of an IdP group ('' when nothing is left)."""
    explicit = {k.strip().lower(): v for k, v in names.map.items()}
    if (target := explicit.get(idp_name.strip().lower())) is not None:
        return target.strip().lower()
    name = idp_name.strip()
    for rule in names.rewrite:
        name = re.sub(rule.pattern, rule.replace, name, flags=re.IGNORECASE)
    name = name.strip().lower()
    if names.case == "kebab":
        name = _SEPARATORS.sub("-", name)
    elif names.case == "snake":
        name = _SEPARATORS.sub("_", name)
    if not name:
        return ""
    return f"{names.prefix}{name}{names.suffix}".strip().lower()


def effective_members(snapshot: IdpSnapshot, *, flatten: bool) -> dict[str, frozenset[str]]:
    """IdP group id → subjects; with `flatten`, a child group's members join every ancestor."""
    members = {g: frozenset(s) for g, s in snapshot.members.items()}
    if not flatten:
        return members
    parent = {g.id: g.parent_id for g in snapshot.groups if g.parent_id}
    result: dict[str, set[str]] = {gid: set(subjects) for gid, subjects in members.items()}
    for gid, subjects in members.items():
        seen = {gid}
        current = parent.get(gid)
        while current is not None and current not in seen:  # a cycle stops the walk
            seen.add(current)
            result.setdefault(current, set()).update(subjects)
            current = parent.get(current)
    return {gid: frozenset(subjects) for gid, subjects in result.items()}


def groups_of(members: Mapping[str, frozenset[str]]) -> dict[str, set[str]]:
    """Subject → ids of the groups it is (effectively) in."""
    index: dict[str, set[str]] = {}
    for gid, subjects in members.items():
        for subject in subjects:
            index.setdefault(subject, set()).add(gid)
    return index


def scope_problem(
    subject_groups: Iterable[str], names: Mapping[str, str], required: Patterns
) -> str | None:
    """Why a user is out of scope under the required groups, or None when in scope.

    `subject_groups`: ids of its groups; `names`: group id → IdP name.
    """
    if not required:
        return None
    if any(required.matches(names.get(gid, "")) for gid in subject_groups):
        return None
    if len(required.raw) == 1:
        return f"not in required group {required.describe()}"
    return f"not in any required group ({required.describe()})"
