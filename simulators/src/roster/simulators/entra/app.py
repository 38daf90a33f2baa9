"""Composition root of the Entra ID (Microsoft Graph) simulator: config → state → ASGI app.

Layers, outermost first: request recorder (`/_sim/requests`), fault injector, then FastAPI
with the token endpoint, Graph v1.0 and the control routes. Faults and the log skip `/_sim/`.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from roster.simulators.common.faults import FaultInjector
from roster.simulators.common.recording import RequestRecorder
from roster.simulators.entra.control import control_router
from roster.simulators.entra.graph_api import graph_router, token_router
from roster.simulators.entra.state import EntraSimConfig, SimState, build_state


class _RequestRecorder(RequestRecorder):
    def __init__(self, app: ASGIApp, state: SimState) -> None:
        super().__init__(app)
        self._state = state

    def record(self, scope: Scope, status: int | None) -> None:
        path: str = scope["path"]
        self._state.requests.add(
            seq=len(self._state.requests),
            time=self._state.config.clock(),
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            op="token" if path.endswith("/oauth2/v2.0/token") else "graph",
            status=status,
            effect="dropped" if status is None else "rejected" if status >= 400 else "read",
        )


class EntraSimulator:
    """The ASGI app; `state` is exposed for in-process tests that need to look inside."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        api = FastAPI(title="Microsoft Graph simulator", openapi_url=None, docs_url=None)
        api.include_router(token_router(state))
        api.include_router(graph_router(state))
        api.include_router(control_router(state))
        injector = FaultInjector(api, faults=lambda: state.faults)
        self._app = _RequestRecorder(injector, state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def create_app(
    config: EntraSimConfig | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> EntraSimulator:
    return EntraSimulator(build_state(config or EntraSimConfig(), transport=transport))
