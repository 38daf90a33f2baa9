"""The error taxonomy that decides what a loop does next.

Transient errors are retried after a delay (with `retry_after` as a floor); permanent ones
are reported and never retried. Only adapters turn HTTP status codes into these.
"""

from __future__ import annotations


class RosterError(Exception):
    """Base of every error Roster raises on purpose."""


class TransientError(RosterError):
    """Try again later: timeouts, 5xx, 429, dropped connections, a broker or Redis hiccup."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class PermanentError(RosterError):
    """Retrying cannot help: the request itself is wrong or forbidden."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFoundError(PermanentError):
    """The object does not exist (HTTP 404)."""


class ConflictError(PermanentError):
    """The object already exists (HTTP 409)."""


class RejectedError(PermanentError):
    """The server refused the request (HTTP 400, 402, 403)."""


class ConfigurationError(PermanentError):
    """The configuration is invalid; the message names the field."""


class MessageDecodeError(PermanentError):
    """A Kafka record is not a valid Roster message."""
