"""What to ask the writer to read from Confluence before planning a run.

Groups: every group the plan may change (IdP-mapped and default groups). Usernames: linked
ones first (the plan deprovisions them), then desired ones (it adopts them), within a size
budget, because one Kafka record is limited (1 MiB by default) and the writer lists all users
anyway; users left out are found by that listing or adopted by the writer on a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from roster.reconciler.core.desired import DesiredState

# JSON overhead of one list entry: two quotes and a comma
_ENTRY_OVERHEAD = 3


@dataclass(frozen=True)
class ReadScope:
    groups: tuple[str, ...]
    usernames: tuple[str, ...]
    left_out: int = 0
    """Usernames dropped to stay within the budget."""


def _within(names: Iterable[str], budget: int) -> tuple[list[str], int]:
    kept: list[str] = []
    used = left_out = 0
    for name in names:
        size = len(name.encode()) + _ENTRY_OVERHEAD
        if used + size > budget:
            left_out += 1
            continue
        kept.append(name)
        used += size
    return kept, left_out


def read_scope(desired: DesiredState, linked: Iterable[str], *, budget: int) -> ReadScope:
    """`budget`: bytes the group and username lists may take together in the request."""
    groups = sorted(set(desired.groups) | set(desired.default_groups) | set(desired.watch_groups))
    budget -= sum(len(g.encode()) + _ENTRY_OVERHEAD for g in groups)
    first = sorted(set(linked))
    rest = sorted(set(desired.users) - set(first))
    usernames, left_out = _within([*first, *rest], budget)
    return ReadScope(tuple(groups), tuple(usernames), left_out)
