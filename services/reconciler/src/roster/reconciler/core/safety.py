"""Hold or go: whether a run's plan may be published or must wait for an administrator.

Pure: the caller gathers `SafetyFacts`, `judge` gives a `Verdict` with every reason. A full
sync is judged by its removals, an empty or shrunk snapshot; a delta or single-user run by
the rolling window. Dry runs are never held: they publish nothing anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from roster.shared.messages.runs import PlanSummary
from roster.shared.settings.safety import SafetySettings


@dataclass(frozen=True)
class SafetyFacts:
    mode: str
    """full, delta or single."""
    removals: int
    """Deactivations + deletions this plan would execute."""
    managed: int
    """Users the directory manages (its links) before this run."""
    snapshot_users: int | None = None
    """Users in this run's IdP snapshot (full syncs)."""
    last_good_users: int | None = None
    """Users in the directory's last published full snapshot, when there was one."""
    window_removals: int = 0
    """Removals already executed in the rolling window (delta / single runs)."""
    dry_run: bool = False


@dataclass(frozen=True)
class Verdict:
    reasons: tuple[str, ...] = ()

    @property
    def hold(self) -> bool:
        return bool(self.reasons)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def removals(summary: PlanSummary) -> int:
    return summary.deactivate_users + summary.delete_users


def _share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _full_reasons(facts: SafetyFacts, limits: SafetySettings) -> list[str]:
    reasons: list[str] = []
    if limits.max_removals and facts.removals > limits.max_removals:
        reasons.append(
            f"{facts.removals} deactivations/deletions exceed the limit of {limits.max_removals}"
        )
    share = _share(facts.removals, facts.managed)
    if (
        limits.max_removal_percent
        and facts.removals >= limits.percent_min_removals
        and share > limits.max_removal_percent
    ):
        reasons.append(
            f"{facts.removals} deactivations/deletions are {share:.1f} % of {facts.managed} "
            f"managed users (limit {limits.max_removal_percent:g} %)"
        )
    users = facts.snapshot_users
    if users is None:
        return reasons
    empty = limits.hold_empty_snapshot and users == 0 and facts.managed > 0
    if empty:
        reasons.append(f"the IdP snapshot is empty while {facts.managed} users are managed")
    last = facts.last_good_users
    if limits.max_shrink_percent and last and users < last and not empty:
        shrink = _share(last - users, last)
        if shrink > limits.max_shrink_percent:
            reasons.append(
                f"the IdP snapshot shrank from {last} to {users} users ({shrink:.1f} %, "
                f"limit {limits.max_shrink_percent:g} %)"
            )
    return reasons


def _window_reasons(facts: SafetyFacts, limits: SafetySettings) -> list[str]:
    total = facts.window_removals + facts.removals
    if limits.max_window_removals and facts.removals and total > limits.max_window_removals:
        return [
            f"{facts.removals} deactivations/deletions would make {total} in the last "
            f"{limits.window_minutes} minutes (limit {limits.max_window_removals})"
        ]
    return []


def judge(facts: SafetyFacts, limits: SafetySettings) -> Verdict:
    """Every reason to hold this plan; none means it may be published."""
    if facts.dry_run:
        return Verdict()
    if facts.mode == "full":
        return Verdict(tuple(_full_reasons(facts, limits)))
    return Verdict(tuple(_window_reasons(facts, limits)))
