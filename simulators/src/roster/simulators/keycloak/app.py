"""Composition root of the Keycloak simulator: config → state → ASGI app with faults and logging.

Layers, outermost first: request recorder (the `/_sim/requests` log), fault injector, then a
path dispatcher to the token endpoint, the admin API and the control routes. Faults and the
log skip `/_sim/`, so test set-up never misbehaves and never shows up as client traffic.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roster.simulators.common.faults import FaultInjector
from roster.simulators.common.recording import RequestRecorder
from roster.simulators.keycloak.admin_api import AdminApi, classify
from roster.simulators.keycloak.config import KeycloakSimConfig
from roster.simulators.keycloak.control import control_routes
from roster.simulators.keycloak.errors import KeycloakError, not_found
from roster.simulators.keycloak.state import SimState, build_state
from roster.simulators.keycloak.token_api import token_endpoint

_TRUNCATED_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
}
_TOKEN_PATH = re.compile(r"^/realms/(?P<realm>[^/]+)/protocol/openid-connect/token$")


class _Dispatcher:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self._admin = AdminApi(state)
        self._control = Router(routes=control_routes(state))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._control(scope, receive, send)  # lifespan
            return
        path: str = scope["path"]
        if path.startswith("/admin/"):
            await self._admin(scope, receive, send)
        elif path.startswith("/_sim/"):
            await self._control(scope, receive, send)
        else:
            try:
                match = _TOKEN_PATH.match(path)
                if match is None or scope["method"] != "POST":
                    raise not_found()
                request = Request(scope, receive)
                response = await token_endpoint(self._state, request, match.group("realm"))
            except KeycloakError as error:
                response = error.response()
            await response(scope, receive, send)


class _RequestRecorder(RequestRecorder):
    """Adds one `RequestLog` entry per API request: op, target, status and effect."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        super().__init__(app)
        self._state = state

    def record(self, scope: Scope, status: int | None) -> None:
        path: str = scope["path"]
        op, target = classify(path)
        match = _TOKEN_PATH.match(path)
        if match is not None:
            op, target = "token", match.group("realm")
        if status is None:
            effect = "dropped"
        elif status >= 400:
            effect = "rejected"
        else:
            effect = "read"  # the client's API surface is read-only; tokens change no data
        query = scope.get("query_string", b"").decode("latin-1")
        self._state.requests.add(
            seq=len(self._state.requests),
            time=self._state.config.clock(),
            method=scope["method"],
            path=path,
            query=query,
            op=op,
            target=target,
            status=status,
            effect=effect,
        )


class KeycloakSimulator:
    """The ASGI app. `state` is exposed for in-process tests that need to look inside."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        injector = FaultInjector(_Dispatcher(state), faults=lambda: state.faults)
        self._app = _RequestRecorder(injector, state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def create_app(config: KeycloakSimConfig | None = None) -> KeycloakSimulator:
    return KeycloakSimulator(build_state(config or KeycloakSimConfig()))
