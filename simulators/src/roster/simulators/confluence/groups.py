"""REST group resources: list, get and members everywhere; create and delete from 8.2.

Group names are case-insensitive and stored lower-case; creating an existing name is a 409,
deleting the last administrators group a 400 (reference §1.3).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from roster.simulators.confluence.config import V8_2
from roster.simulators.confluence.runtime import RouteSpec, Simulator
from roster.simulators.confluence.validation import validate_group_name
from roster.simulators.confluence.wire import (
    base_url,
    expansions,
    group,
    json_response,
    no_content,
    outcome,
    page,
    paging,
    person,
    read_json_object,
)


def routes(sim: Simulator) -> list[RouteSpec]:
    directory = sim.directory

    async def list_groups(request: Request) -> Response:
        start, limit = paging(request)
        names, total = directory.group_page(start, limit)
        base = base_url(request)
        results = [group(name, base) for name in names]
        return json_response(page(request, results, start=start, limit=limit, total=total))

    async def get_group(request: Request) -> Response:
        name = request.path_params["group"].lower()
        directory.require_group(name)
        body = group(name, base_url(request))
        body["_links"] |= {"base": base_url(request), "context": ""}
        return json_response(body)

    async def members(request: Request) -> Response:
        start, limit = paging(request)
        names = directory.require_group(request.path_params["group"])
        base, expand = base_url(request), expansions(request)
        results = [person(directory.users[n], base, expand) for n in names.page(start, limit)]
        return json_response(page(request, results, start=start, limit=limit, total=len(names)))

    async def create_group(request: Request) -> Response:
        body = await read_json_object(request)
        out = outcome(request)
        raw = body.get("name")
        out.target = raw.lower() if isinstance(raw, str) else None
        name = directory.create_group(validate_group_name(raw))
        out.effect = "applied"
        return json_response(group(name, base_url(request)), 201)

    async def delete_group(request: Request) -> Response:
        directory.delete_group(request.path_params["group"])
        outcome(request).effect = "applied"
        return no_content()

    return [
        RouteSpec("GET", "/rest/api/group", list_groups, "read"),
        RouteSpec("GET", "/rest/api/group/{group}", get_group, "read"),
        RouteSpec("GET", "/rest/api/group/{group}/member", members, "read"),
        RouteSpec("POST", "/rest/api/admin/group", create_group, "create_group", V8_2),
        RouteSpec("DELETE", "/rest/api/admin/group/{group}", delete_group, "delete_group", V8_2),
    ]
