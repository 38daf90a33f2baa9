"""Wire format shared by the REST routes: error JSON, paging envelope, Person and Group JSON.

Routes build every response through these helpers so shapes match the product; the golden
samples under `simulators/tests/confluence/golden/` pin them. A REST `Person` never carries an
email: Confluence's `KnownUser` model has no such field (decompiled `KnownUser`/`PersonFactory`),
and `expand=status` yields `"status": "current" | "deactivated"` (`UserStatus` values).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from roster.simulators.confluence.state import User

OUTCOME_KEY = "roster.outcome"
USER_KEY = "roster.user"
PAGE_CAP = 200
"""Server-side maximum page size; larger `limit`s are silently capped (reported in `limit`)."""
PROFILE_PICTURE = {
    "path": "/images/icons/profilepics/default.svg",
    "width": 48,
    "height": 48,
    "isDefault": True,
}


@dataclass(slots=True)
class Outcome:
    """What the request did, filled in by the route and written to the request log."""

    op: str
    target: str | None = None
    group: str | None = None
    effect: str | None = None


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def outcome(request: Request) -> Outcome:
    found: Outcome | None = request.scope.get(OUTCOME_KEY)
    if found is None:
        found = request.scope[OUTCOME_KEY] = Outcome(op="read")
    return found


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(data: Any, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


def no_content() -> Response:
    return Response(status_code=204)


def error_body(status: int, message: str) -> dict[str, Any]:
    """Confluence's `ServiceException` mapping: `statusCode`, `data`, `message`, `reason`."""
    return {
        "statusCode": status,
        "data": {
            "authorized": status not in (401, 403),
            "valid": status != 400,
            "allowedInReadOnlyMode": True,
            "errors": [{"message": {"translation": message, "args": []}}],
            "successful": False,
        },
        "message": message,
        "reason": HTTPStatus(status).phrase,
    }


def error_response(status: int, message: str) -> Response:
    return json_response(error_body(status, message), status)


def base_url(request: Request) -> str:
    scope = request.scope
    for name, value in scope["headers"]:
        if name == b"host":
            return f"{scope['scheme']}://{value.decode('latin-1')}"
    server = scope.get("server") or ("localhost", 80)
    return f"{scope['scheme']}://{server[0]}:{server[1]}"


def expansions(request: Request) -> frozenset[str]:
    raw = request.query_params.get("expand")
    return frozenset(part.strip() for part in raw.split(",")) if raw else frozenset()


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ApiError(400, f"{name} must be non-negative, got {value}")
    return value


def paging(request: Request, *, default: int = PAGE_CAP) -> tuple[int, int]:
    start = _int_param(request, "start", 0)
    limit = _int_param(request, "limit", default)
    return start, min(limit, PAGE_CAP)


def page(
    request: Request, results: list[Any], *, start: int, limit: int, total: int
) -> dict[str, Any]:
    """The paging envelope; `_links.next` (relative, like the product's) only when more remain."""
    base = base_url(request)
    path = request.url.path
    query = request.url.query
    links = {"base": base, "context": "", "self": f"{base}{path}" + (f"?{query}" if query else "")}
    size = len(results)
    if size and start + size < total:
        params = dict(request.query_params)
        params["start"] = str(start + size)
        params["limit"] = str(limit)
        links["next"] = f"{path}?{urlencode(params)}"
    return {"results": results, "start": start, "limit": limit, "size": size, "_links": links}


def person(
    user: User, base: str, expand: frozenset[str], *, single: bool = False
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "known",
        "username": user.username,
        "userKey": user.key,
        "profilePicture": PROFILE_PICTURE,
        "displayName": user.display_name,
    }
    self_link = f"{base}/rest/api/user?key={user.key}"
    data["_links"] = (
        {"base": base, "context": "", "self": self_link} if single else {"self": self_link}
    )
    if "status" in expand:
        data["status"] = "current" if user.active else "deactivated"
    else:
        data["_expandable"] = {"status": ""}
    return data


def group(name: str, base: str) -> dict[str, Any]:
    return {
        "type": "group",
        "name": name,
        "_links": {"self": f"{base}/rest/api/group/{quote(name, safe='')}"},
    }


async def read_json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    try:
        data = json.loads(body) if body else None
    except ValueError:
        raise ApiError(400, "Could not parse the request body as JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object")
    return data
