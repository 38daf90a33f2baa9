"""The legacy JSON-RPC remote API (`/rpc/json-rpc/confluenceservice-v2`, JSON-RPC 2.0).

The only write path before 8.2 (before 8.4 for user creation, before 9.3 for profile edits)
and the only way to read a user's email. Application faults arrive as HTTP 200 with an
`error` object; `fault_status` gives each the HTTP status it stands for, so the one
`classify` function in `http` still decides what the writer does.
"""

from __future__ import annotations

import itertools
from typing import Any

from roster.shared.errors import PermanentError
from roster.writer.adapters.http import ConfluenceHttp, classify
from roster.writer.adapters.wire import RpcFault, RpcRequest, RpcResponse

RPC_PATH = "/rpc/json-rpc/confluenceservice-v2"

_NOT_FOUND_WORDS = ("no user found", "no group found", "not found", "does not exist", "unknown")
_LICENCE_WORDS = ("licence", "license", "seat")


def fault_status(fault: RpcFault) -> int:
    """The HTTP status a JSON-RPC fault means (protocol codes, then the Java exception)."""
    if fault.code == -32601:
        return 404  # method missing: this server's remote API lacks it
    if fault.code in (-32700, -32600, -32602):
        return 400
    if fault.code == -32603:
        return 500
    exception = fault.exception.rsplit(".", 1)[-1]
    text = fault.message.lower()
    if exception == "AlreadyExistsException" or "already exists" in text:
        return 409
    if exception in ("NotPermittedException", "AuthenticationFailedException"):
        return 403
    if any(word in text for word in _LICENCE_WORDS):
        return 402
    if any(word in text for word in _NOT_FOUND_WORDS):
        return 404
    return 400


def fault_text(fault: RpcFault) -> str:
    """The human part of `"<java class>: <text>"`."""
    head, sep, rest = fault.message.partition(": ")
    return rest if sep and "." in head else fault.message


class RpcClient:
    def __init__(self, http: ConfluenceHttp) -> None:
        self._http = http
        self._ids = itertools.count(1)

    async def call(self, method: str, *params: Any) -> Any:
        body = RpcRequest(jsonrpc="2.0", id=next(self._ids), method=method, params=list(params))
        response = await self._http.request("POST", RPC_PATH, json=body.wire())
        reply = RpcResponse.model_validate(response.json())
        if reply.error is not None:
            error = classify(fault_status(reply.error), fault_text(reply.error))
            raise error if error is not None else PermanentError(reply.error.message)
        return reply.result
