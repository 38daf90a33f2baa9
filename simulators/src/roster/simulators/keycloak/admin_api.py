"""The simulated `/admin/realms/{realm}/…` API: bearer check, routing, JSON and error bodies.

Authentication comes first (401 before anything else), then the realm, then the resource, as
in Keycloak's AdminRoot. The service account holds only view/query roles, so any write to a
known resource is a 403. Handlers are plain functions returning JSON-able values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from roster.simulators.keycloak import groups_api, users_api
from roster.simulators.keycloak.errors import (
    KeycloakError,
    forbidden,
    json_response,
    not_found,
    unauthorized,
)
from roster.simulators.keycloak.events import EventQuery
from roster.simulators.keycloak.query import Params
from roster.simulators.keycloak.state import SimState

Handler = Callable[[SimState, Params, dict[str, str]], Any]

_PREFIX = re.compile(r"^/admin/realms/(?P<realm>[^/]+)(?P<rest>/.*)?$")
_ID = r"(?P<id>[^/]+)"


def admin_events(state: SimState, p: Params, path: dict[str, str]) -> list[dict[str, Any]]:
    if not state.events.enabled:
        return []
    return state.events.query(
        EventQuery(
            operation_types=p.values("operationTypes"),
            resource_types=p.values("resourceTypes"),
            resource_path=p.text("resourcePath"),
            date_from=p.text("dateFrom"),
            date_to=p.text("dateTo"),
            auth_realm=p.text("authRealm"),
            auth_client=p.text("authClient"),
            auth_user=p.text("authUser"),
            auth_ip_address=p.text("authIpAddress"),
            direction=p.text("direction"),
            first=p.integer("first"),
            max=p.integer("max"),
        )
    )


# (operation name for the request log, path below the realm, handler); first match wins.
ROUTES: tuple[tuple[str, re.Pattern[str], Handler], ...] = tuple(
    (op, re.compile(f"^{pattern}$"), handler)
    for op, pattern, handler in (
        ("list_users", "/users", users_api.list_users),
        ("count_users", "/users/count", users_api.count_users),
        ("get_user", f"/users/{_ID}", users_api.get_user),
        ("user_groups", f"/users/{_ID}/groups", users_api.user_groups),
        ("count_user_groups", f"/users/{_ID}/groups/count", users_api.count_user_groups),
        ("list_groups", "/groups", groups_api.list_groups),
        ("count_groups", "/groups/count", groups_api.count_groups),
        ("get_group", f"/groups/{_ID}", groups_api.get_group),
        ("group_children", f"/groups/{_ID}/children", groups_api.group_children),
        ("group_members", f"/groups/{_ID}/members", groups_api.group_members),
        ("admin_events", "/admin-events", admin_events),
    )
)
_WRITABLE = re.compile(
    r"^/(users|groups)(/[^/]+(/children|/groups/[^/]+|/role-mappings.*)?)?$|^/admin-events$"
)


def classify(path: str) -> tuple[str, str]:
    """(operation, target) of an admin API path, for the request log."""
    match = _PREFIX.match(path)
    if match is None:
        return "unknown", path
    rest = match.group("rest") or "/"
    for op, pattern, _ in ROUTES:
        found = pattern.match(rest)
        if found is not None:
            return op, found.groupdict().get("id") or match.group("realm")
    return "unknown", path


class AdminApi:
    def __init__(self, state: SimState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = self._handle(request)
        except KeycloakError as error:
            response = error.response()
        await response(scope, receive, send)

    def _handle(self, request: Request) -> Response:
        state = self.state
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not state.tokens.is_valid(token.strip()):
            raise unauthorized()
        match = _PREFIX.match(request.url.path)
        if match is None:
            raise not_found()
        if match.group("realm") != state.config.realm:
            raise not_found("Realm not found.")
        rest = match.group("rest") or "/"
        if rest == "/":
            raise forbidden()  # the realm itself needs view-realm, which the client lacks
        if request.method != "GET":
            raise forbidden() if _WRITABLE.match(rest) else not_found()
        for _, pattern, handler in ROUTES:
            found = pattern.match(rest)
            if found is not None:
                body = handler(state, Params(request.query_params), found.groupdict())
                if isinstance(body, bytes):  # already rendered JSON
                    return Response(body, media_type="application/json")
                return json_response(body)
        raise not_found()
