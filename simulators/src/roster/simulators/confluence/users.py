"""REST user resources: reads everywhere, admin writes from the release that shipped them.

`PUT /rest/api/admin/user/{username}` (update full name / email) is offered from 9.3 only: the
reference (§1.2, open question 1) saw it in the 9.4 and 10.0 docs but not in an 8.4-era copy,
so the exact release is unverified; gating it late makes writers keep their RPC `editUser`
fallback honest. Deletion is applied at once and reported through a long task that is still
running on the first poll and finished from the second on.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from roster.simulators.confluence.config import V8_2, V8_4, V9_3
from roster.simulators.confluence.errors import InvalidError, NotFoundError
from roster.simulators.confluence.runtime import RouteSpec, Simulator
from roster.simulators.confluence.state import User
from roster.simulators.confluence.validation import (
    validate_email,
    validate_full_name,
    validate_username,
)
from roster.simulators.confluence.wire import (
    USER_KEY,
    ApiError,
    base_url,
    expansions,
    json_response,
    no_content,
    outcome,
    page,
    paging,
    person,
    read_json_object,
)

DELETE_TASK = "com.atlassian.confluence.user.longtask.delete"


def find_user(sim: Simulator, request: Request) -> User:
    """The user named by `?username=` or `?key=`, as `GET /rest/api/user` and `memberof` take."""
    username = request.query_params.get("username")
    key = request.query_params.get("key")
    if username is None and key is None:
        raise ApiError(400, "Either the username or the key of a user must be supplied")
    user = sim.directory.user(username) if username is not None else None
    if user is None and key is not None:
        user = sim.directory.user_by_key(key)
    if user is None:
        raise NotFoundError(
            f"No user found with username: {username}"
            if username
            else f"No user found with key: {key}"
        )
    outcome(request).target = user.username
    return user


def _validated_profile(body: dict[str, Any]) -> tuple[str, str]:
    return validate_full_name(body.get("fullName")), validate_email(body.get("email"))


def routes(sim: Simulator) -> list[RouteSpec]:
    directory = sim.directory

    async def get_user(request: Request) -> Response:
        user = find_user(sim, request)
        return json_response(person(user, base_url(request), expansions(request), single=True))

    async def current_user(request: Request) -> Response:
        username: str = request.scope.get(USER_KEY, sim.config.admin_user)
        user = directory.require_user(username)
        return json_response(person(user, base_url(request), expansions(request), single=True))

    async def list_users(request: Request) -> Response:
        start, limit = paging(request)
        users, total = directory.user_page(start, limit)
        base, expand = base_url(request), expansions(request)
        results = [person(u, base, expand) for u in users]
        return json_response(page(request, results, start=start, limit=limit, total=total))

    async def list_active(request: Request) -> Response:
        # `lastLogin` and `expand=lastLogin` are documented for 10.2 only: not offered in 9.3.
        start, limit = paging(request)
        ordered = directory.active_by_last_login()
        base, expand = base_url(request), expansions(request)
        results = [person(u, base, expand) for u in ordered[start : start + limit]]
        return json_response(page(request, results, start=start, limit=limit, total=len(ordered)))

    async def create_user(request: Request) -> Response:
        body = await read_json_object(request)
        out = outcome(request)
        raw_name = body.get("userName")
        out.target = raw_name.lower() if isinstance(raw_name, str) else None
        username = validate_username(raw_name)
        full_name, email = _validated_profile(body)
        password, notify = body.get("password"), body.get("notifyViaEmail", False)
        if notify is True and password:
            raise InvalidError(
                "password", "Give either a password or notifyViaEmail=true, not both"
            )
        if notify is not True and not (isinstance(password, str) and password):
            raise InvalidError("password", "A password is required unless notifyViaEmail is true")
        user = directory.create_user(username, full_name, email, via_api=True)
        out.effect = "applied"
        return json_response({"userKey": user.key}, 201)

    async def update_user(request: Request) -> Response:
        username = request.path_params["username"]
        directory.require_user(username)
        full_name, email = _validated_profile(await read_json_object(request))
        changed = directory.update_user(username, display_name=full_name, email=email)
        outcome(request).effect = "applied" if changed else "noop"
        return no_content()

    async def disable_user(request: Request) -> Response:
        changed = directory.set_active(request.path_params["username"], False)
        outcome(request).effect = "applied" if changed else "noop"
        return no_content()

    async def enable_user(request: Request) -> Response:
        changed = directory.set_active(request.path_params["username"], True)
        outcome(request).effect = "applied" if changed else "noop"
        return no_content()

    async def delete_user(request: Request) -> Response:
        user = directory.delete_user(request.path_params["username"])
        outcome(request).effect = "applied"
        task = directory.submit_task(DELETE_TASK, user.username)
        status_path = f"/rest/api/longtask/{task.id}"
        return json_response({"id": task.id, "links": {"status": status_path}}, 202)

    async def long_task(request: Request) -> Response:
        task = directory.tasks.get(request.path_params["task_id"])
        if task is None:
            raise NotFoundError(
                f"No long running task found with id: {request.path_params['task_id']}"
            )
        outcome(request).target = task.target
        task.polls += 1
        finished = task.polls > 1
        base = base_url(request)
        message = f"User {task.target} deleted" if finished else f"Deleting user {task.target}"
        return json_response(
            {
                "id": task.id,
                "name": {"key": task.name, "args": [task.target]},
                "elapsedTime": 180 if finished else 90,
                "percentageComplete": 100 if finished else 50,
                "successful": True,
                "finished": finished,
                "messages": [{"translation": message, "args": []}],
                "_links": {
                    "base": base,
                    "context": "",
                    "self": f"{base}/rest/api/longtask/{task.id}",
                },
            }
        )

    return [
        RouteSpec("GET", "/rest/api/user", get_user, "read"),
        RouteSpec("GET", "/rest/api/user/current", current_user, "read"),
        RouteSpec("GET", "/rest/api/user/list", list_users, "read", V8_4),
        RouteSpec("GET", "/rest/api/admin/users/list/active", list_active, "read", V9_3),
        RouteSpec("POST", "/rest/api/admin/user", create_user, "create_user", V8_4),
        RouteSpec("PUT", "/rest/api/admin/user/{username}", update_user, "update_user", V9_3),
        RouteSpec(
            "PUT", "/rest/api/admin/user/{username}/disable", disable_user, "disable_user", V8_2
        ),
        RouteSpec(
            "PUT", "/rest/api/admin/user/{username}/enable", enable_user, "enable_user", V8_2
        ),
        RouteSpec("DELETE", "/rest/api/admin/user/{username}", delete_user, "delete_user", V8_2),
        RouteSpec("GET", "/rest/api/longtask/{task_id}", long_task, "read"),
    ]
