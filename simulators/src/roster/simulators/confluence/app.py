"""Composition root of the Confluence DC simulator: config → state → routes → ASGI app.

Only the endpoints the configured version shipped are routed; any other path or method gets
the product's 404 JSON. Product requests pass the `pipeline` layers; `/_sim/*` does not.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from roster.simulators.common.faults import FaultInjector
from roster.simulators.confluence import control, groups, memberships, rpc, users
from roster.simulators.confluence.config import SimConfig
from roster.simulators.confluence.errors import DirectoryError
from roster.simulators.confluence.pipeline import Guard, Recorder, is_control, label
from roster.simulators.confluence.runtime import Handler, RouteSpec, Simulator
from roster.simulators.confluence.wire import (
    OUTCOME_KEY,
    ApiError,
    Outcome,
    base_url,
    error_response,
    json_response,
)

_BUILD_NUMBERS = {(7, 13): 8703, (8, 2): 8804, (8, 4): 8901, (9, 3): 9105}


def _bind(spec: RouteSpec) -> Handler:
    handler, op = spec.handler, spec.op

    async def endpoint(request: Request) -> Response:
        out: Outcome | None = request.scope.get(OUTCOME_KEY)
        if out is None:
            out = request.scope[OUTCOME_KEY] = Outcome(op=op)
        label(out, op, request.path_params)
        return await handler(request)

    return endpoint


def _manifest(sim: Simulator) -> Handler:
    """Application Links manifest: anonymous version detection (reference §10)."""

    async def manifest(request: Request) -> Response:
        major, minor = sim.version
        data = {
            "id": "8f2b8d0e-1c55-3a6c-9a3e-2a1f4c0f7a11",
            "name": "Confluence",
            "typeId": "confluence",
            "version": f"{major}.{minor}.0",
            "buildNumber": _BUILD_NUMBERS.get(sim.version, major * 1000 + minor),
            "url": base_url(request),
        }
        if "application/json" in request.headers.get("accept", ""):
            return json_response(data)
        fields = "".join(f"<{k}>{v}</{k}>" for k, v in data.items())
        return Response(f"<manifest>{fields}</manifest>", media_type="application/xml")

    return manifest


async def _on_error(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/_sim/"):
        handled = control.control_error(exc)
        if handled is not None:
            return handled
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.message)
    if isinstance(exc, DirectoryError):
        return error_response(exc.status, exc.message)
    if isinstance(exc, HTTPException):
        if exc.status_code in (404, 405):
            # Jersey would say 405 for a known path with another method; we say 404 for
            # every endpoint the version lacks, which is what a client's probe must handle.
            return error_response(404, f"No resource found for {request.method} {request.url.path}")
        return error_response(exc.status_code, str(exc.detail))
    if isinstance(exc, ValueError):
        return error_response(400, str(exc))
    raise exc


class SimApp(Starlette):
    """A Starlette app whose product routes run behind the recorder, faults and guard."""

    def __init__(self, sim: Simulator, product: list[BaseRoute], others: list[BaseRoute]) -> None:
        handlers: dict[Any, Any] = {
            exc: _on_error for exc in (ApiError, DirectoryError, HTTPException, ValueError)
        }
        super().__init__(routes=[*product, *others], exception_handlers=handlers)
        self.sim = sim
        self.state.sim = sim
        inner = functools.partial(Starlette.__call__, self)
        self._pipeline = Recorder(
            FaultInjector(Guard(inner, sim), lambda: sim.faults), sim, product
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_control(scope):
            await super().__call__(scope, receive, send)
        else:
            await self._pipeline(scope, receive, send)


def create_app(config: SimConfig | None = None) -> SimApp:
    config = config or SimConfig()
    sim = Simulator.from_config(config)
    specs = [
        *users.routes(sim),
        *groups.routes(sim),
        *memberships.routes(sim),
        *rpc.routes(sim),
    ]
    product: list[BaseRoute] = [
        Route(spec.path, _bind(spec), methods=[spec.method], name=spec.op)
        for spec in specs
        if spec.since <= sim.version
    ]
    manifest = Route("/rest/applinks/1.0/manifest", _manifest(sim), methods=["GET"], name="read")
    product.append(manifest)
    if config.users_file is not None:
        control.load_users_file(sim, config.users_file)
    return SimApp(sim, product, list(control.routes(sim)))
