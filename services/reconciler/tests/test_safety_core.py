"""Table-driven rules of `core.safety`: thresholds, empty and shrunk snapshots, the rolling
window of delta runs, defaults, and `0` disabling a limit."""

from __future__ import annotations

from typing import Any

import pytest

from roster.reconciler.core.safety import SafetyFacts, judge, removals
from roster.shared.config import DirectorySettings
from roster.shared.messages.runs import PlanSummary
from roster.shared.settings.safety import SafetySettings

DEFAULTS = SafetySettings()


def full(**fields: Any) -> SafetyFacts:
    base: dict[str, Any] = {
        "mode": "full",
        "removals": 0,
        "managed": 1000,
        "snapshot_users": 1000,
        "last_good_users": 1000,
    }
    return SafetyFacts(**(base | fields))


def delta(**fields: Any) -> SafetyFacts:
    base: dict[str, Any] = {"mode": "delta", "removals": 1, "managed": 1000}
    return SafetyFacts(**(base | fields))


CASES = [
    # (name, facts, limits, held, words expected in the reason)
    ("quiet full sync", full(), DEFAULTS, False, ()),
    ("count at the limit goes", full(removals=50), DEFAULTS, False, ()),
    ("count above the limit", full(removals=51), DEFAULTS, True, ("51", "limit of 50")),
    ("count limit disabled", full(removals=99), SafetySettings(max_removals=0), False, ()),
    (
        "share above 10 %",
        full(removals=11, managed=100, snapshot_users=89, last_good_users=100),
        DEFAULTS,
        True,
        ("11.0 %", "100 managed"),
    ),
    (
        "share at 10 % goes",
        full(removals=10, managed=100, snapshot_users=90, last_good_users=100),
        DEFAULTS,
        False,
        (),
    ),
    (
        "share below the minimum removals goes",
        full(removals=4, managed=10, snapshot_users=6, last_good_users=None),
        DEFAULTS,
        False,
        (),
    ),
    (
        "share disabled",
        full(removals=30, managed=100, snapshot_users=100, last_good_users=None),
        SafetySettings(max_removal_percent=0),
        False,
        (),
    ),
    ("empty snapshot", full(snapshot_users=0, removals=0), DEFAULTS, True, ("empty", "1000")),
    (
        "empty snapshot, nothing managed",
        full(snapshot_users=0, managed=0, last_good_users=None),
        DEFAULTS,
        False,
        (),
    ),
    (
        "empty check disabled, shrink still catches it",
        full(snapshot_users=0),
        SafetySettings(hold_empty_snapshot=False),
        True,
        ("shrank from 1000 to 0",),
    ),
    (
        "empty and shrink both disabled",
        full(snapshot_users=0),
        SafetySettings(hold_empty_snapshot=False, max_shrink_percent=0),
        False,
        (),
    ),
    ("shrank 31 %", full(snapshot_users=690), DEFAULTS, True, ("shrank", "31.0 %")),
    ("shrank 30 % goes", full(snapshot_users=700), DEFAULTS, False, ()),
    ("grew", full(snapshot_users=2000), DEFAULTS, False, ()),
    ("no last good snapshot", full(snapshot_users=10, last_good_users=None), DEFAULTS, False, ()),
    (
        "shrink disabled",
        full(snapshot_users=100),
        SafetySettings(max_shrink_percent=0),
        False,
        (),
    ),
    (
        "dry run never held",
        full(removals=900, snapshot_users=0, dry_run=True),
        DEFAULTS,
        False,
        (),
    ),
    ("delta within the window", delta(removals=5, window_removals=45), DEFAULTS, False, ()),
    (
        "delta over the window",
        delta(removals=5, window_removals=46),
        DEFAULTS,
        True,
        ("51 in the last 60 minutes", "limit 50"),
    ),
    ("delta without removals", delta(removals=0, window_removals=500), DEFAULTS, False, ()),
    (
        "single run over the window",
        delta(mode="single", removals=1, window_removals=2),
        SafetySettings(max_window_removals=2),
        True,
        ("3 in the last",),
    ),
    (
        "window disabled",
        delta(removals=500, window_removals=500),
        SafetySettings(max_window_removals=0),
        False,
        (),
    ),
    ("delta ignores full-sync rules", delta(removals=40, managed=40), DEFAULTS, False, ()),
]


@pytest.mark.parametrize(
    ("facts", "limits", "held", "words"),
    [pytest.param(f, lim, h, w, id=name) for name, f, lim, h, w in CASES],
)
def test_verdicts(
    facts: SafetyFacts, limits: SafetySettings, held: bool, words: tuple[str, ...]
) -> None:
    verdict = judge(facts, limits)
    assert verdict.hold is held, verdict.reason
    for word in words:
        assert word in verdict.reason


def test_every_reason_is_given() -> None:
    verdict = judge(full(removals=600, snapshot_users=400), DEFAULTS)
    assert len(verdict.reasons) == 3  # count, share and shrink
    assert verdict.reason == "; ".join(verdict.reasons)


def test_removals_are_deactivations_and_deletions() -> None:
    summary = PlanSummary(deactivate_users=3, delete_users=2, remove_memberships=40)
    assert removals(summary) == 5


def test_defaults_are_on_and_limits_are_validated() -> None:
    settings = DirectorySettings(id="kc", kind="ldap")
    assert settings.safety == SafetySettings()
    assert (DEFAULTS.max_removals, DEFAULTS.max_removal_percent) == (50, 10.0)
    assert DEFAULTS.hold_empty_snapshot
    assert DEFAULTS.max_shrink_percent == 30.0
    with pytest.raises(ValueError, match="max_removal_percent"):
        DirectorySettings(id="kc", kind="ldap", safety={"max_removal_percent": 120})
