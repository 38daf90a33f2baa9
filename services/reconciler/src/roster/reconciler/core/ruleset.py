"""A directory's compiled rules (group filter, attribute mapping), compiled once per setting.

`ruleset_for` memoises by the directory's settings, so `build_desired` can be called per
run (full or incremental) without compiling CEL again; `check_rules` compiles every
directory at start so a bad expression stops the service before it consumes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from roster.reconciler.core.filters import GroupFilter
from roster.reconciler.core.mapping import CompiledMapping, compile_mapping
from roster.shared.config import DirectorySettings


@dataclass(frozen=True)
class RuleSet:
    groups: GroupFilter
    mapping: CompiledMapping


_CACHE: dict[str, RuleSet] = {}
_CACHE_LIMIT = 64


def ruleset_for(directory: DirectorySettings) -> RuleSet:
    key = directory.model_dump_json(include={"id", "groups", "attributes"})
    found = _CACHE.get(key)
    if found is None:
        found = RuleSet(
            groups=GroupFilter.of(directory.groups),
            mapping=compile_mapping(directory.id, directory.attributes),
        )
        if len(_CACHE) >= _CACHE_LIMIT:  # settings rarely change; keep the memo bounded
            _CACHE.clear()
        _CACHE[key] = found
    return found


def check_rules(directories: Iterable[DirectorySettings]) -> None:
    """Compile every directory's rules; raises `ConfigurationError` for the first bad one."""
    for directory in directories:
        ruleset_for(directory)
