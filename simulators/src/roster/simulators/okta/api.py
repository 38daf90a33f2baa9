"""The Okta Management API surface the connector reads, plus the OAuth token endpoint.

Users, groups, members and the System Log with Okta's `Link`/`after` paging and `limit` caps,
`filter` expressions, `X-Rate-Limit-*` headers on every answer (429 `E0000047` when a bucket's
minute is spent), SSWS or scoped OAuth bearer tokens, and the Event Hooks API.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Awaitable, Callable, Iterable
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from roster.simulators.okta.state import SimState
from roster.simulators.okta.wire import (
    OAuthError,
    OktaError,
    forbidden,
    group_object,
    invalid,
    iso,
    json_response,
    links,
    not_found,
    parse_iso,
    user_object,
)

Handler = Callable[[Request], Awaitable[Response]]
_TERM = re.compile(r'^\s*([A-Za-z.]+)\s+(eq|gt|ge|lt|le)\s+"([^"]*)"\s*$')
USER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "status": lambda u: u.status,
    "id": lambda u: u.id,
    "lastUpdated": lambda u: u.last_updated,
    "profile.login": lambda u: u.login,
    "profile.email": lambda u: u.email,
    "profile.firstName": lambda u: u.first_name,
    "profile.lastName": lambda u: u.last_name,
}
GROUP_FIELDS: dict[str, Callable[[Any], Any]] = {
    "type": lambda g: g.type,
    "id": lambda g: g.id,
    "lastUpdated": lambda g: g.last_updated,
    "lastMembershipUpdated": lambda g: g.last_membership_updated,
}
LOG_FIELDS: dict[str, Callable[[Any], Any]] = {
    "eventType": lambda e: e["eventType"],
    "uuid": lambda e: e["uuid"],
    "target.id": lambda e: [t["id"] for t in e["target"]],
    "actor.id": lambda e: e["actor"]["id"],
}
_TIME_FIELDS = {"lastUpdated", "lastMembershipUpdated"}


def parse_filter(text: str, fields: dict[str, Callable[[Any], Any]]) -> Callable[[Any], bool]:
    """A SCIM-style filter of `field op "value"` terms joined by all-`and` or all-`or`."""
    joiner = " or " if " or " in text else " and "
    tests: list[Callable[[Any], bool]] = []
    for term in text.split(joiner):
        match = _TERM.match(term.strip().strip("()"))
        if match is None or match.group(1) not in fields:
            raise OktaError(400, "E0000031", "Invalid search criteria.", causes=[f"filter: {term}"])
        name, op, raw = match.groups()
        get = fields[name]
        if name in _TIME_FIELDS:
            try:
                value: Any = parse_iso(raw)
            except ValueError:
                raise OktaError(400, "E0000031", "Invalid search criteria.", causes=[raw]) from None
        elif op != "eq":
            raise OktaError(
                400, "E0000031", "Invalid search criteria.", causes=[f"{name} supports only eq"]
            )
        else:
            value = raw
        tests.append(_compare(get, op, value))
    if joiner == " or ":
        return lambda item: any(t(item) for t in tests)
    return lambda item: all(t(item) for t in tests)


def _compare(get: Callable[[Any], Any], op: str, value: Any) -> Callable[[Any], bool]:
    def test(item: Any) -> bool:
        actual = get(item)
        if isinstance(actual, list):
            return value in actual
        return bool(
            {
                "eq": actual == value,
                "gt": actual > value,
                "ge": actual >= value,
                "lt": actual < value,
                "le": actual <= value,
            }[op]
        )

    return test


def _limit(request: Request, *, default: int, cap: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"limit: '{raw}' is not a number") from None
    if value < 1:
        raise invalid("limit: must be at least 1")
    return min(value, cap)


class _Sorted:
    """Listings sorted by id, cached until the org changes (`Store.version`)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, ...], tuple[int, list[Any], list[str]]] = {}

    def get(
        self, key: tuple[object, ...], version: int, build: Callable[[], list[Any]]
    ) -> tuple[list[Any], list[str]]:
        hit = self._cache.get(key)
        if hit is None or hit[0] != version:
            items = sorted(build(), key=lambda item: item.id)
            if len(self._cache) > 256:
                self._cache.clear()
            hit = self._cache[key] = (version, items, [item.id for item in items])
        return hit[1], hit[2]


def _page(
    request: Request, items: list[Any], ids: list[str], limit: int, path: str, base: str
) -> tuple[list[Any], list[str]]:
    """Items (sorted by id) after the `after` cursor; a `next` link when more follow."""
    after = request.query_params.get("after")
    start = 0 if after is None else bisect.bisect_right(ids, after)
    page = items[start : start + limit]
    more = start + limit < len(items)
    params = {k: v for k, v in request.query_params.items() if k != "after"}
    params["limit"] = str(limit)
    return page, links(base, path, params, page[-1].id if more and page else None)


def api_routes(state: SimState) -> list[Route]:
    store, config = state.store, state.config
    base = config.base_url.rstrip("/")
    listings = _Sorted()

    def need(request: Request, scope: str, bucket: str) -> dict[str, str]:
        headers = state.take(bucket)
        try:
            granted = state.scopes_for(request.headers.get("authorization"))
        except OktaError as error:
            error.headers.update(headers)
            raise
        if "*" not in granted and scope not in granted:
            denied = forbidden()
            challenge = f'Bearer error="insufficient_scope", scope="{scope}"'
            denied.headers.update({**headers, "WWW-Authenticate": challenge})
            raise denied
        return headers

    def user(user_id: str) -> Any:
        found = store.users.get(user_id)
        if found is None:
            found = next((u for u in store.users.values() if u.login == user_id), None)
        if found is None:
            raise not_found("User", user_id)
        return found

    def group(group_id: str) -> Any:
        found = store.groups.get(group_id)
        if found is None:
            raise not_found("UserGroup", group_id)
        return found

    async def list_users(request: Request) -> Response:
        headers = need(request, "okta.users.read", "users")
        expression = request.query_params.get("search") or request.query_params.get("filter")

        def build() -> list[Any]:
            users: Iterable[Any] = store.users.values()
            if expression:
                test = parse_filter(expression, USER_FIELDS)
                users = [u for u in users if test(u)]
                if "status" not in expression:
                    users = [u for u in users if u.status != "DEPROVISIONED"]
            else:
                users = [u for u in users if u.status != "DEPROVISIONED"]
            return list(users)

        if expression:
            parse_filter(expression, USER_FIELDS)  # a bad filter is a 400 even when cached
        items, ids = listings.get(("users", expression), store.version, build)
        limit = _limit(request, default=200, cap=200)
        page, link = _page(request, items, ids, limit, "/api/v1/users", base)
        return _answer([user_object(base, u) for u in page], headers, link)

    async def get_user(request: Request) -> Response:
        headers = need(request, "okta.users.read", "user")
        return _answer(user_object(base, user(request.path_params["uid"])), headers)

    async def user_groups(request: Request) -> Response:
        headers = need(request, "okta.users.read", "user")
        found = user(request.path_params["uid"])
        groups = sorted(
            (g for g in store.groups.values() if found.id in g.members), key=lambda g: g.id
        )
        return _answer([group_object(base, g) for g in groups], headers)

    async def list_groups(request: Request) -> Response:
        headers = need(request, "okta.groups.read", "groups")
        expression = request.query_params.get("filter") or request.query_params.get("search")
        test = parse_filter(expression, GROUP_FIELDS) if expression else None

        def build() -> list[Any]:
            return [g for g in store.groups.values() if test is None or test(g)]

        items, ids = listings.get(("groups", expression), store.version, build)
        limit = _limit(request, default=200, cap=200)
        page, link = _page(request, items, ids, limit, "/api/v1/groups", base)
        return _answer([group_object(base, g) for g in page], headers, link)

    async def get_group(request: Request) -> Response:
        headers = need(request, "okta.groups.read", "group")
        return _answer(group_object(base, group(request.path_params["gid"])), headers)

    async def group_users(request: Request) -> Response:
        headers = need(request, "okta.groups.read", "group")
        found = group(request.path_params["gid"])

        def build() -> list[Any]:
            return [store.users[m] for m in found.members if m in store.users]

        items, ids = listings.get(("members", found.id), store.version, build)
        limit = _limit(request, default=1000, cap=1000)
        path = f"/api/v1/groups/{found.id}/users"
        page, link = _page(request, items, ids, limit, path, base)
        return _answer([user_object(base, u) for u in page], headers, link)

    async def logs(request: Request) -> Response:
        headers = need(request, "okta.logs.read", "logs")
        q = request.query_params
        now = config.clock()
        try:
            since = parse_iso(q["since"]) if "since" in q else now - 7 * 86400
            until = parse_iso(q["until"]) if "until" in q else None
        except ValueError:
            raise invalid("since: must be an ISO 8601 timestamp") from None
        if since < now - state.log_retention:
            days = state.log_retention // 86400
            raise invalid(f"since: must be within the last {days} days (System Log retention)")
        order = q.get("sortOrder", "ASCENDING")
        if order not in ("ASCENDING", "DESCENDING"):
            raise invalid("sortOrder: must be ASCENDING or DESCENDING")
        limit = _limit(request, default=100, cap=1000)
        test = parse_filter(q["filter"], LOG_FIELDS) if q.get("filter") else None
        indexed = [
            (i, e)
            for i, e in enumerate(store.log)
            if since <= parse_iso(e["published"]) < (until or float("inf"))
            and (test is None or test(e))
        ]
        if order == "DESCENDING":
            indexed.reverse()
        after = q.get("after")
        if after is not None:  # a position: ascending resumes at it, descending stops before it
            if not after.isdigit():
                raise invalid("after: not a cursor from a next link")
            mark = int(after)
            indexed = [
                (i, e) for i, e in indexed if (i >= mark if order == "ASCENDING" else i < mark)
            ]
        page = indexed[:limit]
        params = {k: v for k, v in q.items() if k != "after"}
        params["limit"] = str(limit)
        polling = order == "ASCENDING" and until is None
        cursor: str | None = None
        if page and (polling or len(indexed) > limit):
            last = page[-1][0]
            cursor = str(last + 1 if order == "ASCENDING" else last)
        elif polling:  # a polling query always has a next link: same place, ask again later
            cursor = after if after is not None else str(len(store.log))
        return _answer([e for _, e in page], headers, links(base, "/api/v1/logs", params, cursor))

    async def create_hook(request: Request) -> Response:
        headers = need(request, "okta.eventHooks.manage", "other")
        try:
            body = await request.json()
        except ValueError:
            raise invalid("body: not JSON") from None
        hook = state.hooks.create(body)
        return _answer(hook.rep(base), headers)

    async def list_hooks(request: Request) -> Response:
        headers = need(request, "okta.eventHooks.read", "other")
        return _answer([h.rep(base) for h in state.hooks.hooks.values()], headers)

    async def verify_hook(request: Request) -> Response:
        headers = need(request, "okta.eventHooks.manage", "other")
        hook = await state.hooks.verify(state.hooks.get(request.path_params["hid"]))
        return _answer(hook.rep(base), headers)

    async def deactivate_hook(request: Request) -> Response:
        headers = need(request, "okta.eventHooks.manage", "other")
        hook = state.hooks.get(request.path_params["hid"])
        hook.status = "INACTIVE"
        return _answer(hook.rep(base), headers)

    async def delete_hook(request: Request) -> Response:
        headers = need(request, "okta.eventHooks.manage", "other")
        hook = state.hooks.get(request.path_params["hid"])
        if hook.status != "INACTIVE":
            raise OktaError(
                403, "E0000102", "Cannot delete an active event hook; deactivate it first."
            )
        del state.hooks.hooks[hook.id]
        return Response(status_code=204, headers={**headers, "Date": _date(config.clock())})

    async def token(request: Request) -> Response:
        try:
            headers = state.take("token")
        except OktaError as error:
            return json_response(
                {"error": "too_many_requests", "error_description": error.summary},
                status=429,
                headers=error.headers,
            )
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            body = state.issue_token(form, audience=f"{base}/oauth2/v1/token")
        except OAuthError as error:
            return json_response(
                {"error": error.error, "error_description": error.description},
                status=error.status,
                headers=headers,
            )
        return json_response(
            body, headers={**headers, "Cache-Control": "no-store", "Pragma": "no-cache"}
        )

    def _answer(body: Any, headers: dict[str, str], link: list[str] | None = None) -> Response:
        response = json_response(body, headers={**headers, "Date": _date(config.clock())})
        for value in link or []:
            response.headers.append("Link", value)
        return response

    def wrap(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except OktaError as error:
                error_id = "oae" + iso(config.clock()).replace(":", "").replace("-", "")[:19]
                headers = {**error.headers, "Date": _date(config.clock())}
                return json_response(error.body(error_id), status=error.status, headers=headers)

        return endpoint

    table: list[tuple[str, str, Handler]] = [
        ("/api/v1/users", "GET", list_users),
        ("/api/v1/users/{uid}", "GET", get_user),
        ("/api/v1/users/{uid}/groups", "GET", user_groups),
        ("/api/v1/groups", "GET", list_groups),
        ("/api/v1/groups/{gid}", "GET", get_group),
        ("/api/v1/groups/{gid}/users", "GET", group_users),
        ("/api/v1/logs", "GET", logs),
        ("/api/v1/eventHooks", "POST", create_hook),
        ("/api/v1/eventHooks", "GET", list_hooks),
        ("/api/v1/eventHooks/{hid}/lifecycle/verify", "POST", verify_hook),
        ("/api/v1/eventHooks/{hid}/lifecycle/deactivate", "POST", deactivate_hook),
        ("/api/v1/eventHooks/{hid}", "DELETE", delete_hook),
        ("/oauth2/v1/token", "POST", token),
    ]
    return [Route(path, wrap(handler), methods=[method]) for path, method, handler in table]


def _date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)
