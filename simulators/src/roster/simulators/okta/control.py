"""`/_sim/…` control routes (no auth): reshape the org, switch faults, limits and hook delivery,
read the request log. They stand in for an administrator working in the Okta admin console:
every user, group or membership change here writes the System Log events Okta would write
(and so reaches verified event hooks). Not part of any real Okta API.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from roster.simulators.common.faults import Faults
from roster.simulators.okta.hooks import DeliveryOptions
from roster.simulators.okta.state import SimState, Storm
from roster.simulators.okta.store import Group, User
from roster.simulators.okta.wire import (
    USER_STATUSES,
    group_object,
    json_response,
    okta_id,
    user_object,
)

M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DirectorySpec(_Body):
    users: int = Field(default=1000, ge=0)
    groups: int = Field(default=50, ge=0)
    memberships: int = Field(default=5000, ge=0)
    seed: int = 1


class NewUser(_Body):
    login: str = Field(min_length=3)
    email: str = ""
    firstName: str = ""
    lastName: str = ""
    displayName: str | None = None
    status: str = "ACTIVE"
    profile: dict[str, Any] = Field(default_factory=dict)
    groups: list[str] = Field(default_factory=list)


class UserPatch(_Body):
    profile: dict[str, Any] = Field(default_factory=dict)
    status: str | None = None


class NewGroup(_Body):
    name: str = Field(min_length=1)
    description: str | None = None


class GroupPatch(_Body):
    name: str | None = None
    description: str | None = None


class Seconds(_Body):
    seconds: int = Field(ge=1)


class RateLimits(_Body):
    limits: dict[str, int] = Field(default_factory=dict)
    """Bucket → requests per minute (users, user, groups, group, logs, token, other)."""
    storm: int = Field(default=0, ge=0)
    """Answer the next N API requests with 429 (Limit 0, Remaining 0)."""
    storm_reset_seconds: int = Field(default=5, ge=0)


class OAuthClientSpec(_Body):
    client_id: str = Field(min_length=1)
    public_key_pem: str
    scopes: list[str] = Field(
        default_factory=lambda: ["okta.users.read", "okta.groups.read", "okta.logs.read"]
    )


class Delivery(_Body):
    duplicate: bool = False
    reverse: bool = False


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _body(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate_json((await request.body()) or b"{}")
    except ValidationError as error:
        raise _Problem(422, str(error)) from None


def _status(value: str) -> str:
    if value not in USER_STATUSES:
        raise _Problem(422, f"status must be one of {sorted(USER_STATUSES)}")
    return value


def control_routes(state: SimState) -> list[Route]:
    store, config = state.store, state.config
    base = config.base_url.rstrip("/")

    def need_user(user_id: str) -> User:
        user = store.users.get(user_id)
        if user is None:
            raise _Problem(404, "no such user")
        return user

    def need_group(group_id: str) -> Group:
        group = store.groups.get(group_id)
        if group is None:
            raise _Problem(404, "no such group")
        return group

    async def put_directory(request: Request) -> Any:
        spec = await _body(request, DirectorySpec)
        store.generate(
            users=spec.users, groups=spec.groups, memberships=spec.memberships, seed=spec.seed
        )
        return _summary(state)

    async def get_directory(request: Request) -> Any:
        return store.directory()

    async def clear(request: Request) -> Any:
        """An empty org (only `Everyone`), without System Log events: a reset, not deletions."""
        store.generate(users=0, groups=0, memberships=0, seed=1)
        return _summary(state)

    async def add_user(request: Request) -> Any:
        body = await _body(request, NewUser)
        groups = [need_group(g) for g in body.groups]
        now = config.clock()
        user = User(
            id=okta_id("00u", str(uuid.uuid4())),
            login=body.login,
            email=body.email,
            first_name=body.firstName,
            last_name=body.lastName,
            display_name=body.displayName,
            status=_status(body.status),
            created=now,
            last_updated=now,
            status_changed=now,
            profile=dict(body.profile),
        )
        try:
            store.add_user(user, groups)
        except ValueError as exc:
            raise _Problem(409, str(exc)) from None
        return 201, user_object(base, user)

    async def patch_user(request: Request) -> Any:
        user = need_user(request.path_params["uid"])
        body = await _body(request, UserPatch)
        status = _status(body.status) if body.status is not None else None
        store.update_user(user, body.profile, status)
        return user_object(base, user)

    async def delete_user(request: Request) -> Any:
        store.delete_user(need_user(request.path_params["uid"]))
        return 204, None

    async def add_group(request: Request) -> Any:
        body = await _body(request, NewGroup)
        now = config.clock()
        group = Group(
            id=okta_id("00g", str(uuid.uuid4())),
            name=body.name,
            type="OKTA_GROUP",
            description=body.description,
            created=now,
            last_updated=now,
            last_membership_updated=now,
        )
        store.add_group(group)
        return 201, group_object(base, group)

    async def patch_group(request: Request) -> Any:
        group = need_group(request.path_params["gid"])
        body = await _body(request, GroupPatch)
        store.update_group(group, body.name, body.description)
        return group_object(base, group)

    async def delete_group(request: Request) -> Any:
        store.delete_group(need_group(request.path_params["gid"]))
        return 204, None

    async def put_member(request: Request) -> Any:
        group, user = need_group(request.path_params["gid"]), need_user(request.path_params["uid"])
        return {"changed": store.set_member(group, user, True)}

    async def delete_member(request: Request) -> Any:
        group, user = need_group(request.path_params["gid"]), need_user(request.path_params["uid"])
        return {"changed": store.set_member(group, user, False)}

    async def get_logs(request: Request) -> Any:
        return store.log

    async def delete_logs(request: Request) -> Any:
        removed = len(store.log)
        store.log.clear()
        return {"removed": removed}

    async def put_retention(request: Request) -> Any:
        state.log_retention = (await _body(request, Seconds)).seconds
        return {"seconds": state.log_retention}

    async def put_faults(request: Request) -> Any:
        state.faults = await _body(request, Faults)
        return state.faults.model_dump()

    async def get_faults(request: Request) -> Any:
        return state.faults.model_dump()

    async def get_requests(request: Request) -> Any:
        since = request.query_params.get("since", "0")
        if not since.isdigit():
            raise _Problem(400, "since must be a non-negative integer")
        return state.requests.entries(int(since))

    async def delete_requests(request: Request) -> Any:
        state.requests.clear()
        return 204, None

    async def put_rate_limits(request: Request) -> Any:
        body = await _body(request, RateLimits)
        state.limits.update(body.limits)
        state.windows.clear()
        state.storm = Storm(body.storm, body.storm_reset_seconds)
        return {"limits": state.limits, "storm": state.storm.remaining}

    async def get_rate_limits(request: Request) -> Any:
        used = {k: w.used for k, w in state.windows.items()}
        return {"limits": state.limits, "used": used, "storm": state.storm.remaining}

    async def put_token_ttl(request: Request) -> Any:
        state.token_ttl = (await _body(request, Seconds)).seconds
        return {"seconds": state.token_ttl}

    async def get_token_ttl(request: Request) -> Any:
        return {"seconds": state.token_ttl}

    async def delete_tokens(request: Request) -> Any:
        return {"revoked": state.revoke_all()}

    async def put_client(request: Request) -> Any:
        body = await _body(request, OAuthClientSpec)
        try:
            state.register_client(body.client_id, body.public_key_pem, body.scopes)
        except ValueError as exc:
            raise _Problem(422, f"public_key_pem: {exc}") from None
        return {"client_id": body.client_id, "scopes": sorted(body.scopes)}

    async def get_hooks(request: Request) -> Any:
        hooks = state.hooks
        return {
            "hooks": [h.rep(base) for h in hooks.hooks.values()],
            "deliveries": hooks.deliveries,
            "options": vars(hooks.options),
        }

    async def put_delivery(request: Request) -> Any:
        body = await _body(request, Delivery)
        state.hooks.options = DeliveryOptions(duplicate=body.duplicate, reverse=body.reverse)
        return vars(state.hooks.options)

    table: list[tuple[str, str, Any]] = [
        ("/_sim/directory", "POST", put_directory),
        ("/_sim/directory", "GET", get_directory),
        ("/_sim/clear", "POST", clear),
        ("/_sim/users", "POST", add_user),
        ("/_sim/users/{uid}", "PATCH", patch_user),
        ("/_sim/users/{uid}", "DELETE", delete_user),
        ("/_sim/groups", "POST", add_group),
        ("/_sim/groups/{gid}", "PATCH", patch_group),
        ("/_sim/groups/{gid}", "DELETE", delete_group),
        ("/_sim/groups/{gid}/members/{uid}", "PUT", put_member),
        ("/_sim/groups/{gid}/members/{uid}", "DELETE", delete_member),
        ("/_sim/logs", "GET", get_logs),
        ("/_sim/logs", "DELETE", delete_logs),
        ("/_sim/log-retention", "PUT", put_retention),
        ("/_sim/faults", "PUT", put_faults),
        ("/_sim/faults", "GET", get_faults),
        ("/_sim/requests", "GET", get_requests),
        ("/_sim/requests", "DELETE", delete_requests),
        ("/_sim/rate-limits", "PUT", put_rate_limits),
        ("/_sim/rate-limits", "GET", get_rate_limits),
        ("/_sim/token-ttl", "PUT", put_token_ttl),
        ("/_sim/token-ttl", "GET", get_token_ttl),
        ("/_sim/tokens", "DELETE", delete_tokens),
        ("/_sim/oauth-client", "PUT", put_client),
        ("/_sim/event-hooks", "GET", get_hooks),
        ("/_sim/event-hooks/delivery", "PUT", put_delivery),
    ]
    return [Route(path, _endpoint(handler), methods=[method]) for path, method, handler in table]


def _endpoint(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except _Problem as problem:
            return json_response({"error": str(problem)}, status=problem.status)
        status, body = result if isinstance(result, tuple) else (200, result)
        if body is None:
            return Response(status_code=status)
        return json_response(body, status=status)

    return endpoint


def _summary(state: SimState) -> dict[str, int]:
    store = state.store
    return {
        "users": len(store.users),
        "groups": len(store.groups),
        "memberships": sum(len(g.members) for g in store.groups.values()),
    }
