"""Prometheus metrics of the fetcher; labels from closed sets only (directory ids, outcomes)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

SNAPSHOT_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)


class FetcherMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.snapshots = Counter(
            "roster_fetcher_snapshots_total",
            "Full snapshots by outcome (completed, failed).",
            ["directory", "outcome"],
            registry=registry,
        )
        self.users = Counter(
            "roster_fetcher_users_total",
            "Users read from the IdP and published in snapshots.",
            ["directory"],
            registry=registry,
        )
        self.idp_requests = Counter(
            "roster_fetcher_idp_requests_total",
            "HTTP exchanges with the IdP by status class (2xx … 5xx, error = no response).",
            ["directory", "status_class"],
            registry=registry,
        )
        self.snapshot_seconds = Histogram(
            "roster_fetcher_snapshot_seconds",
            "Wall time of one full snapshot, seconds.",
            ["directory"],
            buckets=SNAPSHOT_BUCKETS,
            registry=registry,
        )

    def request_counter(self, directory: str) -> Callable[[str], None]:
        """The `on_request` hook of one directory's connector."""

        def count(status_class: str) -> None:
            self.idp_requests.labels(directory, status_class).inc()

        return count
