"""What the web UI shows, decided without I/O: result rows with their status, the results
filter and paging, progress of a run, and the order of a held plan's entries by risk
(deletions, then deactivations, then group removals)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from roster.scheduler.runs import result_status

PAGE_SIZE = 50
RISK = {"DeleteUser": 0, "DeleteGroup": 0, "DeactivateUser": 1, "RemoveMembership": 2}
"""Rank of a change: lower is riskier; changes not listed are not risky."""


@dataclass(frozen=True)
class ResultsPage:
    rows: list[dict[str, Any]]
    total: int
    """Rows matching the filter (all pages)."""
    page: int
    pages: int
    operations: list[str]
    """Every operation in the run's results, for the filter's choices."""


def results_page(
    results: list[dict[str, Any]],
    *,
    q: str = "",
    status: str = "",
    operation: str = "",
    page: int = 1,
    size: int = PAGE_SIZE,
) -> ResultsPage:
    """Filter by user substring (case-insensitive), status and operation, sorted by user
    then operation, and cut to one page (clamped to the pages there are)."""
    needle = q.strip().lower()
    rows = [
        r | {"status": result_status(r)}
        for r in results
        if (not needle or needle in (r.get("username") or "").lower())
        and (not status or result_status(r) == status)
        and (not operation or r.get("operation") == operation)
    ]
    rows.sort(key=lambda r: (r.get("username") or "", r.get("operation") or "", r["command_id"]))
    pages = max(1, math.ceil(len(rows) / size))
    page = min(max(1, page), pages)
    operations = sorted({str(r.get("operation")) for r in results if r.get("operation")})
    return ResultsPage(rows[(page - 1) * size : page * size], len(rows), page, pages, operations)


def progress(run: dict[str, Any]) -> tuple[int, int | None, int]:
    """(done, planned commands or None when not planned yet, percent)."""
    done = int(run.get("done") or 0)
    commands = run.get("commands")
    if commands is None:
        return done, None, 0
    total = int(commands)
    percent = 100 if total == 0 else min(100, round(100 * done / total))
    return done, total, percent


def risk_of(user: dict[str, Any]) -> int:
    """The rank of a plan user's riskiest change (len(RISK)-ish when none is risky)."""
    ranks = [RISK.get(str(c.get("type")), 9) for c in user.get("changes") or []]
    return min(ranks, default=9)


def riskiest(plan: dict[str, Any], limit: int = 20) -> list[dict[str, Any]]:
    """A plan's users with a risky change, riskiest first (then by username), at most
    `limit`; each with only its risky changes, riskiest first."""
    risky = []
    for user in plan.get("users") or []:
        changes = [c for c in user.get("changes") or [] if str(c.get("type")) in RISK]
        if changes:
            changes.sort(key=lambda c: RISK[str(c.get("type"))])
            risky.append(user | {"changes": changes})
    risky.sort(key=lambda u: (risk_of(u), u.get("username") or ""))
    return risky[:limit]


def when(timestamp: Any) -> str:
    """A Unix time as UTC text; '—' when unknown (missing, or not a number)."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float | str):
        return "—"
    try:
        timestamp = float(timestamp)
    except ValueError:
        return "—"
    return datetime.fromtimestamp(float(timestamp), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(run: dict[str, Any]) -> str:
    start, end = run.get("started_at"), run.get("completed_at")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return "—"
    return f"{end - start:.1f} s"
