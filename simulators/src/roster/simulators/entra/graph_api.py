"""The client-facing surface: the v2.0 token endpoint and the Graph v1.0 routes Roster reads.

Every Graph request passes `guard` first: bearer token (401 `InvalidAuthenticationToken`),
then the resource-unit bucket (429 + `Retry-After`, `x-ms-throttle-*`). Lists page with
`$top` (1–999, default 100) and an opaque `$skiptoken` inside `@odata.nextLink`.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from roster.simulators.entra import delta
from roster.simulators.entra.limits import request_cost
from roster.simulators.entra.state import DEFAULT_GROUP_PROPERTIES as GP
from roster.simulators.entra.state import DEFAULT_USER_PROPERTIES as UP
from roster.simulators.entra.state import GROUP_TYPE, USER_TYPE, SimState

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
SKIP_PREFIX = "RFNwdAIAAQAAA"
"""Graph's list skiptokens start like this; clients must treat the whole value as opaque."""


class GraphError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        inner = {
            "date": now,
            "request-id": str(uuid.uuid4()),
            "client-request-id": str(uuid.uuid4()),
        }
        body = {"error": {"code": self.code, "message": str(self), "innerError": inner}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def _aad_error(status: int, error: str, code: int, text: str) -> JSONResponse:
    trace = str(uuid.uuid4())
    return JSONResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace}",
            "error_codes": [code],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
        status_code=status,
    )


def token_router(state: SimState) -> APIRouter:
    router = APIRouter()

    @router.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> Response:
        config = state.config
        # application/x-www-form-urlencoded, parsed by hand (no multipart dependency)
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("latin-1")).items()}
        if tenant not in (config.tenant_id, config.domain):
            return _aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _aad_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        if form.get("client_id") != config.client_id:
            return _aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the directory.",  # noqa: E501
            )
        if form.get("client_secret") != config.client_secret:
            return _aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",  # noqa: E501
            )
        if form.get("scope") != GRAPH_SCOPE:
            return _aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",  # noqa: E501
            )
        return JSONResponse(state.tokens.issue())

    return router


def guard(state: SimState, request: Request) -> dict[str, str]:
    """Token, then throttling; returns headers every Graph answer carries."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    problem = state.tokens.check(auth[7:].strip())
    if problem is not None:
        raise GraphError(401, "InvalidAuthenticationToken", problem)
    cost = request_cost(request.url.path, dict(request.query_params))
    allowed, wait, fill = state.throttle.admit(cost)
    config = state.config
    scope = f"Tenant_Application/Read/{config.client_id}/{config.tenant_id}"
    if not allowed:
        raise GraphError(
            429,
            "TooManyRequests",
            "Too many requests.",
            headers={
                "Retry-After": str(wait),
                "x-ms-throttle-scope": scope,
                "x-ms-throttle-information": "ResourceUnitLimitExceeded",
                "x-ms-resource-unit": str(cost),
            },
        )
    headers = {"x-ms-resource-unit": str(cost)}
    if fill > 0.8:
        headers["x-ms-throttle-limit-percentage"] = f"{fill:.1f}"
    return headers


def _top(request: Request) -> int:
    raw = request.query_params.get("$top", "100")
    try:
        top = int(raw)
    except ValueError:
        raise GraphError(400, "BadRequest", f"Invalid $top value '{raw}'.") from None
    if not 1 <= top <= 999:
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            "Invalid page size specified: must be between 1 and 999 inclusive.",
        )
    return top


def _select(request: Request) -> tuple[str, ...] | None:
    raw = request.query_params.get("$select")
    return tuple(p.strip() for p in raw.split(",") if p.strip()) if raw else None


def _shape(
    resource: dict[str, Any], select: tuple[str, ...] | None, default: tuple[str, ...]
) -> dict[str, Any]:
    keep = select if select is not None else default
    shaped = {k: v for k, v in resource.items() if k in keep or k == "id" or k.startswith("@")}
    return shaped


def _link(request: Request, **params: str) -> str:
    query = {
        k: v for k, v in request.query_params.items() if k not in ("$skiptoken", "$deltatoken")
    }
    query.update(params)
    return f"{str(request.base_url).rstrip('/')}{request.url.path}?{urlencode(query)}"


def _page(request: Request, items: list[dict[str, Any]], context: str) -> dict[str, Any]:
    top = _top(request)
    raw = request.query_params.get("$skiptoken")
    offset = 0
    if raw:
        raw = raw.removeprefix(SKIP_PREFIX)
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["o"])
        except (ValueError, KeyError, TypeError) as exc:
            raise GraphError(
                400,
                "Directory_ExpiredPageToken",
                "The specified page token value has expired and can no longer be included in your request.",  # noqa: E501
            ) from exc
    body: dict[str, Any] = {
        "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{context}"
    }
    body["value"] = items[offset : offset + top]
    if offset + top < len(items):
        token = (
            base64.urlsafe_b64encode(json.dumps({"o": offset + top}).encode()).decode().rstrip("=")
        )
        body["@odata.nextLink"] = _link(request, **{"$skiptoken": SKIP_PREFIX + token})
    return body


def graph_router(state: SimState) -> APIRouter:
    from roster.simulators.entra.subscriptions_api import subscription_routes

    router = APIRouter(prefix="/v1.0")
    tenant = state.tenant

    def answer(request: Request, build: Any) -> Response:
        try:
            headers = guard(state, request)
            return JSONResponse(build(), headers=headers)
        except GraphError as error:
            return error.response()

    def user_or_404(user_id: str) -> Any:
        user = tenant.users.get(user_id)
        if user is None:
            user = next(
                (u for u in tenant.users.values() if u.upn.lower() == user_id.lower()), None
            )
        if user is None:
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{user_id}' does not exist or one of its queried reference-property objects are not present.",  # noqa: E501
            )
        return user

    def group_or_404(group_id: str) -> Any:
        group = tenant.groups.get(group_id)
        if group is None:
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{group_id}' does not exist or one of its queried reference-property objects are not present.",  # noqa: E501
            )
        return group

    @router.get("/users")
    async def users(request: Request) -> Response:
        def build() -> dict[str, Any]:
            sel = _select(request)
            items = [_shape(u.resource(), sel, UP) for u in tenant.users.values()]
            return _page(request, items, "users")

        return answer(request, build)

    @router.get("/groups")
    async def groups(request: Request) -> Response:
        def build() -> dict[str, Any]:
            sel = _select(request)
            items = [_shape(g.resource(), sel, GP) for g in tenant.groups.values()]
            return _page(request, items, "groups")

        return answer(request, build)

    @router.get("/users/delta")
    async def users_delta(request: Request) -> Response:
        return delta_answer(request, "users")

    @router.get("/groups/delta")
    async def groups_delta(request: Request) -> Response:
        return delta_answer(request, "groups")

    @router.get("/users/{user_id}")
    async def user(user_id: str, request: Request) -> Response:
        return answer(
            request, lambda: _shape(user_or_404(user_id).resource(), _select(request), UP)
        )

    @router.get("/groups/{group_id}")
    async def group(group_id: str, request: Request) -> Response:
        return answer(
            request, lambda: _shape(group_or_404(group_id).resource(), _select(request), GP)
        )

    def members(request: Request, group_id: str, transitive: bool) -> Response:
        def build() -> dict[str, Any]:
            found = group_or_404(group_id)
            listed = tenant.transitive_members(found.id) if transitive else found.members
            sel = _select(request)
            items = []
            for member_id, member_type in listed.items():
                rep = tenant.member_resource(member_id, member_type)
                default = UP if member_type == USER_TYPE else GP
                items.append(_shape(rep, sel, default))
            return _page(request, items, "directoryObjects")

        return answer(request, build)

    @router.get("/groups/{group_id}/members")
    async def direct_members(group_id: str, request: Request) -> Response:
        return members(request, group_id, transitive=False)

    @router.get("/groups/{group_id}/transitiveMembers")
    async def transitive_members(group_id: str, request: Request) -> Response:
        return members(request, group_id, transitive=True)

    def member_of(request: Request, user_id: str, transitive: bool) -> Response:
        def build() -> dict[str, Any]:
            found = user_or_404(user_id)
            direct = [g for g in tenant.groups.values() if found.id in g.members]
            if transitive:
                direct = [
                    g for g in tenant.groups.values() if found.id in tenant.transitive_members(g.id)
                ]
            sel = _select(request)
            items = [{"@odata.type": GROUP_TYPE, **_shape(g.resource(), sel, GP)} for g in direct]
            return _page(request, items, "directoryObjects")

        return answer(request, build)

    @router.get("/users/{user_id}/memberOf")
    async def user_member_of(user_id: str, request: Request) -> Response:
        return member_of(request, user_id, transitive=False)

    @router.get("/users/{user_id}/transitiveMemberOf")
    async def user_transitive_member_of(user_id: str, request: Request) -> Response:
        return member_of(request, user_id, transitive=True)

    def delta_answer(request: Request, collection: delta.Collection) -> Response:
        config = state.config
        now = config.clock()
        params = request.query_params

        def build() -> dict[str, Any]:
            try:
                if "$top" in params or "$orderby" in params or "$expand" in params:
                    raise GraphError(
                        400,
                        "Request_UnsupportedQuery",
                        "Unsupported query for delta: $top, $orderby and $expand are not supported.",  # noqa: E501
                    )
                deltatoken = params.get("$deltatoken") or params.get("$deltaToken")
                skiptoken = params.get("$skiptoken")
                if skiptoken:
                    token = delta.resume(
                        tenant, collection, skiptoken, now=now, ttl=config.delta_ttl
                    )
                elif deltatoken == "latest":
                    token = delta.start(tenant, collection, _select(request), now=now, latest=True)
                    done = delta.page(tenant, token, size=0, chunk=1, now=now)
                    return delta_body(
                        request, collection, delta.DeltaPage([], delta_token=done.delta_token)
                    )
                elif deltatoken:
                    link = delta.resume(
                        tenant, collection, deltatoken, now=now, ttl=config.delta_ttl
                    )
                    token = delta.next_round(tenant, link, now=now)
                else:
                    token = delta.start(tenant, collection, _select(request), now=now)
            except delta.DeltaError as error:
                headers = {"Location": error.location} if error.location else {}
                raise GraphError(error.status, error.code, str(error), headers) from error
            result = delta.page(
                tenant, token, size=config.delta_page_size,
                chunk=config.members_per_delta_object, now=now,
            )  # fmt: skip
            return delta_body(request, collection, result)

        return answer(request, build)

    def delta_body(request: Request, collection: str, result: delta.DeltaPage) -> dict[str, Any]:
        base = f"{str(request.base_url).rstrip('/')}/v1.0/{collection}/delta"
        body: dict[str, Any] = {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{collection}",
            "value": result.value,
        }
        if result.next_token is not None:
            body["@odata.nextLink"] = f"{base}?{urlencode({'$skiptoken': result.next_token})}"
        if result.delta_token is not None:
            body["@odata.deltaLink"] = f"{base}?{urlencode({'$deltatoken': result.delta_token})}"
        return body

    subscription_routes(router, state)
    return router
