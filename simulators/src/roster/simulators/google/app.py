"""Composition root of the Google simulator: config → state → ASGI app with faults and logging.

Layers, outermost first: request recorder (the `/_sim/requests` log), fault injector, then
the routes (token, Directory, Reports, control). Faults and the log skip `/_sim/`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from roster.simulators.common.faults import FaultInjector
from roster.simulators.common.recording import RequestRecorder
from roster.simulators.google.api import api_routes
from roster.simulators.google.config import GoogleSimConfig
from roster.simulators.google.control import control_routes
from roster.simulators.google.state import SimState, build_state


def _op(path: str) -> str:
    if path == "/token":
        return "token"
    if path.startswith("/admin/reports/"):
        return "activities"
    if path.endswith("/channels/stop"):
        return "stop"
    parts = path.split("/")  # /admin/directory/v1/<resource>[/<key>[/members]]
    if len(parts) >= 5:
        resource = parts[4]
        if len(parts) == 5:
            return resource
        if parts[-1] == "watch":
            return "watch"
        return "members" if parts[-1] == "members" else resource.rstrip("s")
    return "other"


class _RequestRecorder(RequestRecorder):
    def __init__(self, app: ASGIApp, state: SimState) -> None:
        super().__init__(app)
        self._state = state

    def record(self, scope: Scope, status: int | None) -> None:
        self._state.requests.add(
            seq=len(self._state.requests),
            time=self._state.config.clock(),
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            op=_op(scope["path"]),
            status=status,
        )


class GoogleSimulator:
    """The ASGI app. `state` is exposed for in-process tests that need to look inside."""

    def __init__(self, state: SimState) -> None:
        self.state = state

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            yield
            await state.channels.close()

        inner = Starlette(routes=[*api_routes(state), *control_routes(state)], lifespan=lifespan)
        self._app = _RequestRecorder(FaultInjector(inner, faults=lambda: state.faults), state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def create_app(config: GoogleSimConfig | None = None) -> GoogleSimulator:
    return GoogleSimulator(build_state(config or GoogleSimConfig()))
