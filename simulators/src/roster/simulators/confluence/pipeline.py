"""The ASGI layers in front of the product routes: request log, faults, auth and rate limit.

Order, outermost first: `Recorder` (one log entry per request, whatever happens inside) →
`FaultInjector` (common) → `Guard` (Basic/Bearer auth, per-user token bucket and its headers)
→ Starlette routing. `/_sim/*` control routes bypass all of them.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roster.simulators.common.faults import DroppedConnectionError
from roster.simulators.confluence.rpc import RPC_PATH
from roster.simulators.confluence.runtime import Simulator
from roster.simulators.confluence.wire import (
    OUTCOME_KEY,
    USER_KEY,
    Outcome,
    dumps,
    error_body,
)

ANONYMOUS_PATHS = frozenset({"/rest/applinks/1.0/manifest"})


def is_control(scope: Scope) -> bool:
    return scope["type"] != "http" or str(scope["path"]).startswith("/_sim/")


def label(out: Outcome, op: str, params: dict[str, Any]) -> None:
    """Name the operation and its target from the route's path parameters."""
    out.op = op
    username, group = params.get("username"), params.get("group")
    if username is not None:
        out.target = username.lower()
        if group is not None:
            out.group = group.lower()
    elif group is not None:
        out.target = group.lower()


def _close_transport(send: Send) -> bool:
    """Close the client socket under uvicorn so the client sees no response at all.

    Raising would make uvicorn answer 500 instead (it does so for any exception raised before
    the response starts), so a dropped connection has to be done by hand.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    transport.close()
    return True


class Recorder:
    def __init__(self, app: ASGIApp, sim: Simulator, routes: list[BaseRoute]) -> None:
        self._app = app
        self._sim = sim
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        out = scope[OUTCOME_KEY] = Outcome(op="")
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, capture)
        except DroppedConnectionError:
            self._record(scope, 0, out)
            if _close_transport(send):
                return
            raise
        except Exception:
            self._record(scope, status or 500, out)
            raise
        self._record(scope, status, out)

    def _classify(self, scope: Scope, out: Outcome) -> None:
        # Only for requests turned away before a route ran (faults, 401, 429, 404).
        for route in self._routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                label(out, getattr(route, "name", "read"), child.get("path_params", {}))
                if out.op == "rpc" and scope["path"].startswith(RPC_PATH + "/"):
                    out.op = "rpc:" + scope["path"][len(RPC_PATH) + 1 :]
                return
        out.op = "read" if scope["method"] == "GET" else "unknown"

    def _record(self, scope: Scope, status: int, out: Outcome) -> None:
        if not out.op:
            self._classify(scope, out)
        failed = status >= 400 or status == 0
        effect = "rejected" if failed else (out.effect or "read")
        log = self._sim.log
        entry = {
            "seq": len(log),
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "op": out.op,
            "target": out.target,
            "effect": effect,
            "group": out.group,
        }
        log.add(**entry)


class Guard:
    def __init__(self, app: ASGIApp, sim: Simulator) -> None:
        self._app = app
        self._sim = sim
        self._known: dict[bytes, tuple[str, bool]] = {}

    def _identify(self, header: bytes) -> tuple[str, bool] | None:
        """(username, via bearer token) for valid credentials; results cached per header value."""
        known = self._known.get(header)
        if known is not None:
            return known
        config = self._sim.config
        scheme, _, credentials = header.partition(b" ")
        found: tuple[str, bool] | None = None
        if scheme.lower() == b"basic":
            try:
                user, _, password = (
                    base64.b64decode(credentials, validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                return None
            if user.lower() == config.admin_user.lower() and password == config.admin_password:
                found = (config.admin_user.lower(), False)
        elif scheme.lower() == b"bearer" and config.token and credentials.decode() == config.token:
            found = (config.admin_user.lower(), True)
        if found is not None and len(self._known) < 256:
            self._known[header] = found
        return found

    def _authenticate(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                found = self._identify(value)
                if found is None:
                    return None
                user, bearer = found
                rpc_refuses = not self._sim.config.rpc_accepts_bearer
                if bearer and rpc_refuses and scope["path"].startswith("/rpc/"):
                    return None
                return user
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] in ANONYMOUS_PATHS:
            await self._app(scope, receive, send)
            return
        user = self._authenticate(scope)
        if user is None:
            body = error_body(
                401, "Authentication required: use HTTP Basic or a personal access token"
            )
            headers = [(b"www-authenticate", b'Basic realm="Confluence"')]
            await _respond(send, 401, dumps(body), b"application/json", headers)
            return
        scope[USER_KEY] = user
        limiter = self._sim.limiter
        if not limiter.enabled:
            await self._app(scope, receive, send)
            return
        decision = limiter.take(user)
        extra = limiter.headers(decision)
        if not decision.allowed:
            await _respond_limited(scope, send, extra)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self._app(scope, receive, with_headers)


async def _respond(
    send: Send, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _respond_limited(scope: Scope, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    """429: JSON `{"message"}` when the client accepts JSON, else a servlet error page (§4)."""
    message = "Too many requests: the rate limit for this user has been exceeded"
    accept = b""
    for name, value in scope["headers"]:
        if name == b"accept":
            accept = value
    if b"application/json" in accept:
        await _respond(send, 429, dumps({"message": message}), b"application/json", headers)
        return
    page = f"<html><head><title>429 Too Many Requests</title></head><body>{message}</body></html>"
    await _respond(send, 429, page.encode(), b"text/html;charset=UTF-8", headers)
