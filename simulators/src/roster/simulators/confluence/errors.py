"""Failures of directory operations, each carrying the REST status and JSON-RPC fault it maps to.

The directory raises them; REST routes turn them into Confluence error JSON, the JSON-RPC
front end into error envelopes. Only this module knows both mappings.
"""

from __future__ import annotations

RPC_REMOTE = "com.atlassian.confluence.rpc.RemoteException"
RPC_EXISTS = "com.atlassian.confluence.rpc.AlreadyExistsException"
RPC_NOT_PERMITTED = "com.atlassian.confluence.rpc.NotPermittedException"


class DirectoryError(Exception):
    status = 400
    reason = "Bad Request"
    rpc_exception = RPC_REMOTE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidError(DirectoryError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFoundError(DirectoryError):
    status = 404
    reason = "Not Found"


class ConflictError(DirectoryError):
    status = 409
    reason = "Conflict"
    rpc_exception = RPC_EXISTS


class LicenceError(DirectoryError):
    status = 402
    reason = "Payment Required"


class LastAdminGroupError(DirectoryError):
    rpc_exception = RPC_NOT_PERMITTED
