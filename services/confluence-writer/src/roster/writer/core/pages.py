"""A Confluence snapshot → `ConfluenceStatePage`s of bounded size plus the completion marker.

Users, group names and (group, member) pairs are each cut into chunks of at most `size`; page
n carries chunk n of each, so every page stays small whatever the mix. Pages are numbered from
0; a group's member list may span pages, and a managed group with no members is still listed
(with an empty list) so the reconciler can tell "empty" from "not read".
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import TypeVar

from roster.shared.messages.state import (
    ConfluenceStateCompleted,
    ConfluenceStatePage,
    ConfluenceUser,
)

PAGE_USERS = 500
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    it = iter(items)
    out: list[list[T]] = []
    while chunk := list(islice(it, size)):
        out.append(chunk)
    return out


def paginate(
    *,
    run_id: str,
    users: Sequence[ConfluenceUser],
    groups: Sequence[str],
    members: dict[str, list[str]],
    size: int = PAGE_USERS,
) -> list[ConfluenceStatePage]:
    if size < 1:
        raise ValueError("page size must be positive")
    user_chunks = _chunks(users, size)
    group_chunks = _chunks(groups, size)
    pairs = [(g, u) for g, names in members.items() for u in names]
    pair_chunks = _chunks(pairs, size)
    count = max(1, len(user_chunks), len(group_chunks), len(pair_chunks))
    pages: list[ConfluenceStatePage] = []
    for n in range(count):
        page_members: dict[str, list[str]] = {}
        if n == 0:
            page_members = {g: [] for g, names in members.items() if not names}
        for group, username in pair_chunks[n] if n < len(pair_chunks) else []:
            page_members.setdefault(group, []).append(username)
        pages.append(
            ConfluenceStatePage(
                run_id=run_id,
                page=n,
                users=user_chunks[n] if n < len(user_chunks) else [],
                groups=group_chunks[n] if n < len(group_chunks) else [],
                members=page_members,
            )
        )
    return pages


def completed(
    *, run_id: str, pages: int, users: int, groups: int, error: str | None = None
) -> ConfluenceStateCompleted:
    return ConfluenceStateCompleted(
        run_id=run_id, pages=pages, users=users, groups=groups, error=error
    )
