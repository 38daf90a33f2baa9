"""Composition root of the Okta simulator: config → state → ASGI app with faults and logging.

Layers, outermost first: request recorder (the `/_sim/requests` log), fault injector, then
the routes (Management API, OAuth token endpoint, `/_sim/` control). Faults and the log skip
`/_sim/`, so test set-up never misbehaves and never shows up as client traffic.
"""

from __future__ import annotations

from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from roster.simulators.common.faults import FaultInjector
from roster.simulators.common.recording import RequestRecorder
from roster.simulators.okta.api import api_routes
from roster.simulators.okta.config import OktaSimConfig
from roster.simulators.okta.control import control_routes
from roster.simulators.okta.hooks import EventHooks
from roster.simulators.okta.state import SimState, build_state


class _RequestRecorder(RequestRecorder):
    """One `RequestLog` entry per API request: method, path, query, status."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        super().__init__(app)
        self._state = state

    def record(self, scope: Scope, status: int | None) -> None:
        auth = dict(scope.get("headers", [])).get(b"authorization", b"").split(b" ", 1)[0]
        self._state.requests.add(
            seq=len(self._state.requests),
            time=self._state.config.clock(),
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            auth=auth.decode("latin-1"),
            status=status,
            effect="dropped" if status is None else "rejected" if status >= 400 else "read",
        )


class OktaSimulator:
    """The ASGI app. `state` is exposed for in-process tests that need to look inside."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        state.hooks = EventHooks(state.config.base_url.rstrip("/"), state.config.clock)
        state.store.listeners.append(state.hooks.publish)
        router = Router(routes=[*api_routes(state), *control_routes(state)])
        self._app = _RequestRecorder(FaultInjector(router, faults=lambda: state.faults), state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def create_app(config: OktaSimConfig | None = None) -> OktaSimulator:
    return OktaSimulator(build_state(config or OktaSimConfig()))
