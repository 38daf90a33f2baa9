"""Prometheus metrics of the reconciler; labels from closed sets only (directory, outcome,
operation), never user or group names."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class ReconcilerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.plans = Counter(
            "roster_reconciler_plans_total",
            "Runs planned, by outcome (planned, dry-run, failed).",
            ["directory", "outcome"],
            registry=registry,
        )
        self.commands = Counter(
            "roster_reconciler_commands_total",
            "Commands published to the writer, by operation.",
            ["operation"],
            registry=registry,
        )
