"""Prometheus metrics of the writer; labels come from closed sets (operations, outcomes, methods).

Never a username, group name or command id in a label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


def status_class(status: int | None) -> str:
    """`2xx` … `5xx`, or `error` when no response arrived."""
    return "error" if status is None else f"{status // 100}xx"


class WriterMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.commands = Counter(
            "roster_writer_commands_total",
            "Commands executed, by operation and outcome "
            "(applied, noop, replay, recovered, failed_permanent, failed_transient, deferred; "
            "read, read_failed for snapshots).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "roster_writer_http_requests_total",
            "HTTP exchanges with Confluence by method and status class (error = no response).",
            ["method", "status_class"],
            registry=self.registry,
        )
        self.ratelimit_wait = Counter(
            "roster_writer_ratelimit_wait_seconds_total",
            "Seconds spent waiting for the shared rate limit (bucket and 429 pauses).",
            registry=self.registry,
        )

    def request(self, method: str, status: int | None) -> None:
        self.http_requests.labels(method, status_class(status)).inc()

    def command(self, operation: str, outcome: str) -> None:
        self.commands.labels(operation, outcome).inc()

    def waited(self, seconds: float) -> None:
        if seconds > 0:
            self.ratelimit_wait.inc(seconds)
