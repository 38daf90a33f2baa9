"""The Google endpoints a sync client calls: token, Directory users/groups/members, users.watch,
channels.stop, and Reports `activities.list` (admin application).

Checks as Google does: a JWT-bearer assertion signed by the service account, issued for the
token URI, impersonating an existing admin, for scopes granted by domain-wide delegation;
`maxResults` bounds (users 500, groups and members 200, activities 1000); a `customer` or
`domain` on list calls; the per-minute quota answered with 403 `userRateLimitExceeded`.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from roster.simulators.google.keys import JwtError
from roster.simulators.google.push import DEFAULT_TTL_SECONDS, WATCH_EVENTS
from roster.simulators.google.state import SimState
from roster.simulators.google.store import GGroup, GUser
from roster.simulators.google.wire import (
    ApiError,
    activity_rep,
    etag,
    group_rep,
    json_response,
    member_rep,
    user_rep,
)

T = TypeVar("T")
DIRECTORY = "/admin/directory/v1"
SCOPE = "https://www.googleapis.com/auth/"
USER_SCOPES = (SCOPE + "admin.directory.user.readonly", SCOPE + "admin.directory.user")
GROUP_SCOPES = (SCOPE + "admin.directory.group.readonly", SCOPE + "admin.directory.group")
MEMBER_SCOPES = (
    *GROUP_SCOPES,
    SCOPE + "admin.directory.group.member.readonly",
    SCOPE + "admin.directory.group.member",
)
REPORT_SCOPES = (SCOPE + "admin.reports.audit.readonly",)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _bad(message: str, reason: str = "invalid") -> ApiError:
    return ApiError(400, message, reason)


def _page_size(request: Request, *, default: int, maximum: int) -> int:
    raw = request.query_params.get("maxResults")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(f"Invalid value '{raw}'. Values must match the following regular "
                   "expression: '[0-9]+'") from None  # fmt: skip
    if not 1 <= value <= maximum:
        raise _bad(f"Invalid value for maxResults: {value}; must be 1 to {maximum}")
    return value


def _page(
    request: Request, items: Sequence[T], size: int, scope: str
) -> tuple[list[T], str | None]:
    """Opaque page tokens that only work for the listing they came from."""
    token = request.query_params.get("pageToken")
    offset = 0
    if token:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            offset, owner = int(data["o"]), str(data["s"])
        except (ValueError, KeyError, TypeError):
            raise _bad("Invalid page token") from None
        if owner != scope:
            raise _bad("Invalid page token")
    chunk = list(items[offset : offset + size])
    following = offset + size
    if following >= len(items):
        return chunk, None
    raw = json.dumps({"o": following, "s": scope}).encode()
    return chunk, base64.urlsafe_b64encode(raw).decode()


def _listing(kind: str, key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "etag": etag(kind, len(items), token)}
    if items:
        body[key] = items
    if token:
        body["nextPageToken"] = token
    return body


def _scope_of(state: SimState, request: Request) -> str | None:
    """The customer or domain a list call names; 400 when neither (or a foreign one)."""
    customer = request.query_params.get("customer")
    domain = request.query_params.get("domain")
    if customer is None and domain is None:
        raise _bad("Bad Request")
    if customer is not None and customer not in ("my_customer", state.config.customer_id):
        raise ApiError(403, "Not Authorized to access this resource/api", "forbidden")
    return domain.lower() if domain else None


def _in_domain(email: str, domain: str | None) -> bool:
    return domain is None or email.endswith("@" + domain)


def api_routes(state: SimState) -> list[BaseRoute]:
    store = state.store

    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("latin-1")).items()}
        if form.get("grant_type") != JWT_BEARER:
            return _oauth_error(
                "unsupported_grant_type", "Invalid grant_type: " + str(form.get("grant_type"))
            )
        assertion = form.get("assertion")
        if not isinstance(assertion, str):
            return _oauth_error("invalid_request", "Missing required parameter: assertion")
        try:
            header, claims = state.account.verify(assertion)
        except JwtError as exc:
            return _oauth_error("invalid_grant", str(exc))
        now = state.config.clock()
        if header.get("kid") not in (None, state.account.private_key_id):
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        if claims.get("iss") != state.account.client_email:
            return _oauth_error("invalid_grant", "Invalid issuer")
        if claims.get("aud") != state.token_uri:
            return _oauth_error("invalid_grant", "Invalid JWT: audience is not the token URI")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            return _oauth_error("invalid_grant", "Invalid JWT: iat and exp are required")
        if exp - iat > 3600 or exp < now - 60 or iat > now + 60:
            return _oauth_error(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim.",
            )
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            return _oauth_error(
                "invalid_scope", "Invalid OAuth scope or ID token audience provided."
            )
        subject = claims.get("sub")
        if subject is not None:
            admin = store.user(str(subject))
            if admin is None:
                return _oauth_error("invalid_grant", "Invalid email or User ID")
            if not scopes <= set(state.config.delegated_scopes) or not admin.is_admin:
                return _oauth_error(
                    "unauthorized_client",
                    "Client is unauthorized to retrieve access tokens using this method, or "
                    "client not authorized for any of the scopes requested.",
                    401,
                )
        access, ttl = state.issue(str(subject or state.account.client_email), scopes)
        return json_response(
            {"access_token": access, "expires_in": ttl - 1, "token_type": "Bearer"}
        )

    def guard(request: Request, scopes: tuple[str, ...]) -> None:
        state.authorize(request.headers.get("authorization"), scopes=scopes)
        state.spend_quota()

    def need_user(key: str) -> GUser:
        user = store.user(key)
        if user is None:
            raise ApiError(404, "Resource Not Found: userKey", "notFound")
        return user

    def need_group(key: str) -> GGroup:
        group = store.group(key)
        if group is None:
            raise ApiError(404, "Resource Not Found: groupKey", "notFound")
        return group

    async def list_users(request: Request) -> Response:
        guard(request, USER_SCOPES)
        domain = _scope_of(state, request)
        size = _page_size(request, default=100, maximum=500)
        projection = request.query_params.get("projection", "basic")
        if projection not in ("basic", "full", "custom"):
            raise _bad(f"Invalid value for projection: {projection}")
        deleted = request.query_params.get("showDeleted") == "true"
        source = store.deleted.values() if deleted else store.users.values()
        users = [u for u in source if _in_domain(u.primary_email, domain)]
        if request.query_params.get("orderBy") == "email":
            users.sort(key=lambda u: u.primary_email)
        chunk, following = _page(request, users, size, f"users:{domain}:{deleted}")
        reps = [user_rep(u, store, projection=projection) for u in chunk]
        return json_response(_listing("admin#directory#users", "users", reps, following))

    async def get_user(request: Request) -> Response:
        guard(request, USER_SCOPES)
        projection = request.query_params.get("projection", "basic")
        user = need_user(request.path_params["key"])
        return json_response(user_rep(user, store, projection=projection))

    async def list_groups(request: Request) -> Response:
        guard(request, GROUP_SCOPES)
        size = _page_size(request, default=200, maximum=200)
        user_key = request.query_params.get("userKey")
        if user_key is not None:
            user = need_user(user_key)
            groups = store.groups_of(user.id)
            scope = f"groups-of:{user.id}"
        else:
            domain = _scope_of(state, request)
            groups = [g for g in store.groups.values() if _in_domain(g.email, domain)]
            scope = f"groups:{domain}"
        chunk, following = _page(request, groups, size, scope)
        reps = [group_rep(g, store) for g in chunk]
        return json_response(_listing("admin#directory#groups", "groups", reps, following))

    async def get_group(request: Request) -> Response:
        guard(request, GROUP_SCOPES)
        return json_response(group_rep(need_group(request.path_params["key"]), store))

    async def list_members(request: Request) -> Response:
        guard(request, MEMBER_SCOPES)
        group = need_group(request.path_params["key"])
        size = _page_size(request, default=200, maximum=200)
        derived = request.query_params.get("includeDerivedMembership") == "true"
        roles = request.query_params.get("roles")
        wanted = {r.strip().upper() for r in roles.split(",")} if roles else None
        entries = list(group.members.items())
        if derived:
            direct = set(group.members)
            entries += [(uid, "MEMBER") for uid in store.derived_users(group) if uid not in direct]
        if wanted is not None:
            entries = [(m, r) for m, r in entries if r in wanted]
        chunk, following = _page(request, entries, size, f"members:{group.id}:{derived}:{roles}")
        reps = [member_rep(m, r, store) for m, r in chunk]
        return json_response(_listing("admin#directory#members", "members", reps, following))

    async def watch_users(request: Request) -> Response:
        guard(request, USER_SCOPES)
        domain = _scope_of(state, request)
        event = request.query_params.get("event", "update")
        if event not in WATCH_EVENTS:
            raise _bad(f"Invalid value for event: {event}")
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            raise _bad("Invalid JSON payload received.", "parseError") from None
        if not isinstance(body, dict):
            raise _bad("Invalid JSON payload received.", "parseError")
        channel_id, address = body.get("id"), body.get("address")
        if body.get("type") not in ("web_hook", "webhook"):
            raise _bad("Invalid value for type", "push.webhookTypeRequired")
        if not isinstance(channel_id, str) or not channel_id:
            raise ApiError(400, "Channel id must be set", "required")
        if channel_id in state.channels.channels:
            raise ApiError(400, f"Channel id {channel_id} not unique", "channelIdNotUnique")
        if not isinstance(address, str) or urlsplit(address).scheme not in ("http", "https"):
            raise ApiError(400, "Invalid push address", "push.webhookUrlUnauthorized")
        if state.config.require_https_push and urlsplit(address).scheme != "https":
            raise ApiError(401, f"WebHook callback must be HTTPS: {address}",
                           "push.webhookUrlNotHttps")  # fmt: skip
        raw_params = body.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        try:
            ttl = float(params.get("ttl", DEFAULT_TTL_SECONDS))
        except (TypeError, ValueError):
            raise _bad("Invalid value for params.ttl") from None
        token = body.get("token") if isinstance(body.get("token"), str) else None
        where = f"domain={domain}" if domain else "customer=my_customer"
        uri = f"{state.config.base_url.rstrip('/')}{DIRECTORY}/users?alt=json&{where}&event={event}"
        channel = state.channels.create(
            channel_id=channel_id, address=address, token=token, event=event, ttl=ttl,
            resource_uri=uri,
        )  # fmt: skip
        rep: dict[str, Any] = {
            "kind": "api#channel",
            "id": channel.id,
            "resourceId": channel.resource_id,
            "resourceUri": channel.resource_uri,
            "expiration": str(int(channel.expiration * 1000)),
        }
        if token is not None:
            rep["token"] = token
        return json_response(rep)

    async def stop_channel(request: Request) -> Response:
        # Google checks the caller is authorised; any Directory scope will do
        guard(request, USER_SCOPES + GROUP_SCOPES)
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            raise _bad("Invalid JSON payload received.", "parseError") from None
        cid, rid = body.get("id"), body.get("resourceId")
        if not isinstance(cid, str) or not isinstance(rid, str):
            raise ApiError(400, "id and resourceId are required", "required")
        if not state.channels.stop(cid, rid):
            raise ApiError(404, f"Channel '{cid}' not found for project 'roster-sim'", "notFound")
        return Response(status_code=204)

    async def activities(request: Request) -> Response:
        guard(request, REPORT_SCOPES)
        if request.path_params["user"] != "all":
            raise _bad("Only userKey=all is simulated")
        app = request.path_params["app"]
        size = _page_size(request, default=1000, maximum=1000)
        now = state.config.clock()
        start = _time_param(request, "startTime")
        end = _time_param(request, "endTime")
        if start is not None and start < now - state.config.report_retention_days * 86400:
            raise _bad(
                f"Start time {request.query_params['startTime']} is earlier than the "
                f"{state.config.report_retention_days}-day data retention"
            )
        if app != "admin":  # other applications exist; this directory has no events in them
            return json_response(_listing("admin#reports#activities", "items", [], None))
        name = request.query_params.get("eventName")
        visible_until = now - state.report_lag_seconds
        found = [
            a
            for a in store.activities
            if a.time <= visible_until
            and (start is None or a.time >= start)
            and (end is None or a.time < end)
            and (name is None or a.name == name)
        ]
        found.reverse()  # newest first, as the Reports API lists them
        scope = f"activities:{start}:{end}:{name}:{len(found)}"
        chunk, following = _page(request, found, size, scope)
        reps = [activity_rep(a, store, state.config.admin_email) for a in chunk]
        return json_response(_listing("admin#reports#activities", "items", reps, following))

    def endpoint(handler: Any) -> Any:
        async def call(request: Request) -> Response:
            try:
                response: Response = await handler(request)
            except ApiError as error:
                return error.response()
            return response

        return call

    table: list[tuple[str, str, Any]] = [
        ("/token", "POST", token),
        (f"{DIRECTORY}/users/watch", "POST", watch_users),
        (f"{DIRECTORY}/users", "GET", list_users),
        (f"{DIRECTORY}/users/{{key}}", "GET", get_user),
        (f"{DIRECTORY}/groups", "GET", list_groups),
        (f"{DIRECTORY}/groups/{{key}}", "GET", get_group),
        (f"{DIRECTORY}/groups/{{key}}/members", "GET", list_members),
        ("/admin/directory_v1/channels/stop", "POST", stop_channel),
        (f"{DIRECTORY}/channels/stop", "POST", stop_channel),
        ("/admin/reports/v1/activity/users/{user}/applications/{app}", "GET", activities),
    ]
    return [Route(path, endpoint(handler), methods=[method]) for path, method, handler in table]


def _time_param(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise _bad(f"Invalid value for {name}: {raw} (RFC 3339 expected)") from None


def new_channel_id() -> str:
    return str(uuid.uuid4())
