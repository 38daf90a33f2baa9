"""`/_sim/…` control routes (no auth): the directory, the key file, faults, quota, the logs.

They stand in for an administrator in the Admin console: each user, group or membership
change made here is recorded in the admin audit log (Reports API) and user changes are
pushed to the watch channels. Regenerating the directory resets it instead (no events).
Not part of any real Google API.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from roster.simulators.common.faults import Faults
from roster.simulators.google.state import SimState, Throttle
from roster.simulators.google.store import GGroup, GUser, StoreError, group_id_from, user_id_from
from roster.simulators.google.wire import group_rep, json_response, user_rep

M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DirectorySpec(_Body):
    users: int = Field(default=1000, ge=0)
    groups: int = Field(default=50, ge=0)
    memberships: int = Field(default=5000, ge=0)
    seed: int = 1


class NewUser(_Body):
    primary_email: str = Field(min_length=3)
    given_name: str = ""
    family_name: str = ""
    suspended: bool = False
    department: str | None = None
    title: str | None = None
    groups: list[str] = Field(default_factory=list)
    """Group ids or e-mails to join."""


class UserPatch(_Body):
    primary_email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    suspended: bool | None = None
    archived: bool | None = None
    department: str | None = None
    title: str | None = None


class NewGroup(_Body):
    email: str = Field(min_length=3)
    name: str = Field(min_length=1)
    description: str = ""


class GroupPatch(_Body):
    name: str = Field(min_length=1)


class ThrottleSpec(_Body):
    count: int = Field(ge=0)
    """How many coming API calls are refused."""
    status: Literal[403, 429, 503] = 403
    reason: Literal[
        "userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded", "backendError"
    ] = "userRateLimitExceeded"
    retry_after: int | None = Field(default=None, ge=0)


class Settings(_Body):
    quota_per_minute: int | None = Field(default=None, ge=1)
    token_ttl: int | None = Field(default=None, ge=1)
    report_lag_seconds: float | None = Field(default=None, ge=0)
    push_paused: bool | None = None


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _body(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.body() or b"{}")
    except ValidationError as error:
        raise _Problem(422, str(error)) from None


def control_routes(state: SimState) -> list[Route]:
    store = state.store

    def need_user(key: str) -> GUser:
        user = store.user(key)
        if user is None:
            raise _Problem(404, "no such user")
        return user

    def need_group(key: str) -> GGroup:
        group = store.group(key)
        if group is None:
            raise _Problem(404, "no such group")
        return group

    async def put_directory(request: Request) -> Any:
        spec = await _body(request, DirectorySpec)
        state.regenerate(users=spec.users, groups=spec.groups, memberships=spec.memberships,
                         seed=spec.seed)  # fmt: skip
        return _summary(state)

    async def get_directory(request: Request) -> Any:
        return store.to_dict()

    async def key_file(request: Request) -> Any:
        return state.key_file()

    async def add_user(request: Request) -> Any:
        body = await _body(request, NewUser)
        groups = [need_group(g) for g in body.groups]
        email = body.primary_email.lower()
        user = store.add_user(
            GUser(
                id=user_id_from("sim:" + email), primary_email=email, given_name=body.given_name,
                family_name=body.family_name, suspended=body.suspended,
                department=body.department, title=body.title,
            )
        )  # fmt: skip
        for group in groups:
            store.add_member(group, user.id)
        return 201, user_rep(user, store, projection="full")

    async def patch_user(request: Request) -> Any:
        user = need_user(request.path_params["key"])
        changes = (await _body(request, UserPatch)).model_dump(exclude_none=True)
        store.update_user(user, changes)
        return user_rep(user, store, projection="full")

    async def delete_user(request: Request) -> Any:
        store.delete_user(need_user(request.path_params["key"]))
        return 204, None

    async def add_group(request: Request) -> Any:
        body = await _body(request, NewGroup)
        email = body.email.lower()
        group = store.add_group(GGroup(id=group_id_from("sim:" + email), email=email,
                                       name=body.name, description=body.description))  # fmt: skip
        return 201, group_rep(group, store)

    async def patch_group(request: Request) -> Any:
        group = need_group(request.path_params["key"])
        store.rename_group(group, (await _body(request, GroupPatch)).name)
        return group_rep(group, store)

    async def delete_group(request: Request) -> Any:
        store.delete_group(need_group(request.path_params["key"]))
        return 204, None

    async def put_member(request: Request) -> Any:
        group = need_group(request.path_params["key"])
        key = request.path_params["member"]
        member = store.user(key) or store.group(key)
        if member is None:
            raise _Problem(404, "no such member")
        return {"changed": store.add_member(group, member.id)}

    async def delete_member(request: Request) -> Any:
        group = need_group(request.path_params["key"])
        key = request.path_params["member"]
        member = store.user(key) or store.group(key)
        if member is None:
            raise _Problem(404, "no such member")
        return {"changed": store.remove_member(group, member.id)}

    async def put_faults(request: Request) -> Any:
        state.faults = await _body(request, Faults)
        return state.faults.model_dump()

    async def get_faults(request: Request) -> Any:
        return state.faults.model_dump()

    async def put_throttle(request: Request) -> Any:
        spec = await _body(request, ThrottleSpec)
        state.throttle = Throttle(spec.count, spec.status, spec.reason, spec.retry_after)
        return spec.model_dump()

    async def put_settings(request: Request) -> Any:
        spec = await _body(request, Settings)
        if spec.quota_per_minute is not None:
            state.quota_per_minute = spec.quota_per_minute
        if spec.token_ttl is not None:
            state.token_ttl = spec.token_ttl
        if spec.report_lag_seconds is not None:
            state.report_lag_seconds = spec.report_lag_seconds
        if spec.push_paused is not None:
            state.channels.paused = spec.push_paused
        return await get_settings(request)

    async def get_settings(request: Request) -> Any:
        return {
            "quota_per_minute": state.quota_per_minute,
            "token_ttl": state.token_ttl,
            "report_lag_seconds": state.report_lag_seconds,
            "push_paused": state.channels.paused,
        }

    async def delete_tokens(request: Request) -> Any:
        revoked = len(state.tokens)
        state.tokens.clear()
        return {"revoked": revoked}

    async def get_channels(request: Request) -> Any:
        return [
            {"id": c.id, "resource_id": c.resource_id, "address": c.address, "event": c.event,
             "expiration": c.expiration, "has_token": c.token is not None}
            for c in state.channels.live()
        ]  # fmt: skip

    async def get_deliveries(request: Request) -> Any:
        await state.channels.drain() if request.query_params.get("wait") == "true" else None
        return state.channels.deliveries.entries(_since(request))

    async def get_requests(request: Request) -> Any:
        return state.requests.entries(_since(request))

    async def delete_requests(request: Request) -> Any:
        state.requests.clear()
        return 204, None

    table: list[tuple[str, str, Any]] = [
        ("/_sim/directory", "POST", put_directory),
        ("/_sim/directory", "GET", get_directory),
        ("/_sim/key-file", "GET", key_file),
        ("/_sim/users", "POST", add_user),
        ("/_sim/users/{key}", "PATCH", patch_user),
        ("/_sim/users/{key}", "DELETE", delete_user),
        ("/_sim/groups", "POST", add_group),
        ("/_sim/groups/{key}", "PATCH", patch_group),
        ("/_sim/groups/{key}", "DELETE", delete_group),
        ("/_sim/groups/{key}/members/{member}", "PUT", put_member),
        ("/_sim/groups/{key}/members/{member}", "DELETE", delete_member),
        ("/_sim/faults", "PUT", put_faults),
        ("/_sim/faults", "GET", get_faults),
        ("/_sim/throttle", "PUT", put_throttle),
        ("/_sim/settings", "PUT", put_settings),
        ("/_sim/settings", "GET", get_settings),
        ("/_sim/tokens", "DELETE", delete_tokens),
        ("/_sim/channels", "GET", get_channels),
        ("/_sim/deliveries", "GET", get_deliveries),
        ("/_sim/requests", "GET", get_requests),
        ("/_sim/requests", "DELETE", delete_requests),
    ]
    return [Route(path, _endpoint(handler), methods=[method]) for path, method, handler in table]


def _since(request: Request) -> int:
    since = request.query_params.get("since", "0")
    if not since.isdigit():
        raise _Problem(400, "since must be a non-negative integer")
    return int(since)


def _endpoint(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except _Problem as problem:
            return json_response({"error": str(problem)}, status=problem.status)
        except StoreError as error:
            return json_response({"error": str(error)}, status=error.status)
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
