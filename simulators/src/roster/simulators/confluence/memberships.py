"""REST membership resources: a user's groups everywhere; add and remove from 8.2.

`PUT|DELETE /rest/api/user/{username}/group/{group}` are idempotent (204 whether or not the
membership changed, logged as `noop` when it did not) and 404 when either side is missing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from roster.simulators.confluence.config import V8_2
from roster.simulators.confluence.runtime import RouteSpec, Simulator
from roster.simulators.confluence.users import find_user
from roster.simulators.confluence.wire import (
    base_url,
    group,
    json_response,
    no_content,
    outcome,
    page,
    paging,
)


def routes(sim: Simulator) -> list[RouteSpec]:
    directory = sim.directory

    async def member_of(request: Request) -> Response:
        start, limit = paging(request)
        user = find_user(sim, request)
        names = sorted(user.groups)
        base = base_url(request)
        results = [group(name, base) for name in names[start : start + limit]]
        return json_response(page(request, results, start=start, limit=limit, total=len(names)))

    async def add_member(request: Request) -> Response:
        changed = directory.add_member(
            request.path_params["username"], request.path_params["group"]
        )
        outcome(request).effect = "applied" if changed else "noop"
        return no_content()

    async def remove_member(request: Request) -> Response:
        params = request.path_params
        changed = directory.remove_member(params["username"], params["group"])
        outcome(request).effect = "applied" if changed else "noop"
        return no_content()

    return [
        RouteSpec("GET", "/rest/api/user/memberof", member_of, "read"),
        RouteSpec("PUT", "/rest/api/user/{username}/group/{group}", add_member, "add_member", V8_2),
        RouteSpec(
            "DELETE",
            "/rest/api/user/{username}/group/{group}",
            remove_member,
            "remove_member",
            V8_2,
        ),
    ]
