"""`/_sim/…` control routes (no auth): reshape the directory, inject faults, read the request log.

These stand in for an administrator working in Keycloak: every user, group or membership
change made here is recorded as the admin event Keycloak would store. Regenerating or clearing
the directory resets the realm instead (no events). Not part of any real Keycloak API.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from roster.simulators.common.faults import Faults
from roster.simulators.directory import DirectoryGroup, DirectoryUser
from roster.simulators.keycloak.errors import json_response
from roster.simulators.keycloak.representations import group_rep, user_rep
from roster.simulators.keycloak.state import SimState
from roster.simulators.keycloak.store import ConflictError

M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DirectorySpec(_Body):
    users: int = Field(default=1000, ge=0)
    groups: int = Field(default=50, ge=0)
    memberships: int = Field(default=5000, ge=0)
    seed: int = 1


class UserPatch(_Body):
    username: str | None = Field(default=None, min_length=1)
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    email: str | None = None
    enabled: bool | None = None
    email_verified: bool | None = Field(default=None, alias="emailVerified")
    attributes: dict[str, str] | None = None


class NewUser(_Body):
    id: str | None = None
    username: str = Field(min_length=1)
    first_name: str = Field(default="", alias="firstName")
    last_name: str = Field(default="", alias="lastName")
    email: str = ""
    enabled: bool = True
    email_verified: bool = Field(default=True, alias="emailVerified")
    attributes: dict[str, str] = Field(default_factory=dict)
    groups: list[str] = Field(default_factory=list)
    """Ids of groups to join."""


class NewGroup(_Body):
    id: str | None = None
    name: str = Field(min_length=1)
    parent_id: str | None = Field(default=None, alias="parentId")
    attributes: dict[str, str] = Field(default_factory=dict)


class GroupPatch(_Body):
    name: str = Field(min_length=1)


class TokenTtl(_Body):
    seconds: int = Field(ge=1)


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as error:
        raise _Problem(422, str(error)) from None


def control_routes(state: SimState) -> list[Route]:
    store, events = state.store, state.events

    def user_event(operation: str, user: DirectoryUser) -> None:
        rep = user_rep(user, brief=False, access=False) if operation != "DELETE" else None
        events.record(operation, "USER", f"users/{user.id}", rep)

    def group_event(operation: str, resource: str, group: DirectoryGroup | None) -> None:
        rep = None
        if group is not None:
            rep = group_rep(group, path=store.path(group), full=True, access=False)
        events.record(
            operation, "GROUP_MEMBERSHIP" if "/groups/" in resource else "GROUP", resource, rep
        )

    def need_user(user_id: str) -> DirectoryUser:
        user = store.directory.users.get(user_id)
        if user is None:
            raise _Problem(404, "User not found")
        return user

    def need_group(group_id: str) -> DirectoryGroup:
        group = store.group(group_id)
        if group is None:
            raise _Problem(404, "Could not find group by id")
        return group

    async def put_directory(request: Request) -> Any:
        spec = await _body(request, DirectorySpec)
        state.regenerate(
            users=spec.users, groups=spec.groups, memberships=spec.memberships, seed=spec.seed
        )
        return _summary(state)

    async def get_directory(request: Request) -> Any:
        return {"realm": state.config.realm, **store.directory.to_dict()}

    async def clear(request: Request) -> Any:
        state.clear()
        return _summary(state)

    async def add_user(request: Request) -> Any:
        body = await _body(request, NewUser)
        groups = [need_group(gid) for gid in body.groups]
        user = DirectoryUser(
            id=body.id or str(uuid.uuid4()),
            username=body.username.lower(),
            email=body.email.lower(),
            first_name=body.first_name,
            last_name=body.last_name,
            enabled=body.enabled,
            email_verified=body.email_verified,
            created_ms=int(state.config.clock() * 1000),
            attributes=dict(body.attributes),
        )
        store.add_user(user)
        user_event("CREATE", user)
        for group in groups:
            store.add_member(group.id, user.id)
            group_event("CREATE", f"users/{user.id}/groups/{group.id}", group)
        return 201, user_rep(user, brief=False, access=False)

    async def patch_user(request: Request) -> Any:
        user = need_user(request.path_params["uid"])
        changes = (await _body(request, UserPatch)).model_dump(exclude_none=True)
        for key in ("username", "email"):
            if key in changes:
                changes[key] = changes[key].lower()
        if store.update_user(user.id, changes):
            user_event("UPDATE", user)
        return user_rep(user, brief=False, access=False)

    async def delete_user(request: Request) -> Any:
        user = need_user(request.path_params["uid"])
        store.delete_user(user.id)
        user_event("DELETE", user)  # Keycloak records no GROUP_MEMBERSHIP events here
        return 204, None

    async def put_member(request: Request) -> Any:
        group = need_group(request.path_params["gid"])
        user = need_user(request.path_params["uid"])
        changed = store.add_member(group.id, user.id)
        if changed:
            group_event("CREATE", f"users/{user.id}/groups/{group.id}", group)
        return {"changed": changed}

    async def delete_member(request: Request) -> Any:
        group = need_group(request.path_params["gid"])
        user = need_user(request.path_params["uid"])
        changed = store.remove_member(group.id, user.id)
        if changed:
            group_event("DELETE", f"users/{user.id}/groups/{group.id}", group)
        return {"changed": changed}

    async def add_group(request: Request) -> Any:
        body = await _body(request, NewGroup)
        if body.parent_id is not None:
            need_group(body.parent_id)
        group = DirectoryGroup(
            id=body.id or str(uuid.uuid4()),
            name=body.name,
            parent_id=body.parent_id,
            attributes=dict(body.attributes),
        )
        store.add_group(group)
        where = f"groups/{group.parent_id}/children" if group.parent_id else f"groups/{group.id}"
        group_event("CREATE", where, group)
        return 201, group_rep(group, path=store.path(group), full=True, access=False)

    async def patch_group(request: Request) -> Any:
        group = need_group(request.path_params["gid"])
        if store.rename_group(group.id, (await _body(request, GroupPatch)).name):
            group_event("UPDATE", f"groups/{group.id}", group)
        return group_rep(group, path=store.path(group), full=True, access=False)

    async def delete_group(request: Request) -> Any:
        group = need_group(request.path_params["gid"])
        removed = store.delete_group(group.id)
        group_event("DELETE", f"groups/{group.id}", None)
        return {"removed": removed}

    async def clear_events(request: Request) -> Any:
        """What Keycloak's admin events expiration (or an admin's "Clear admin events") does."""
        removed = len(events)
        events.clear()
        return {"removed": removed}

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

    async def put_token_ttl(request: Request) -> Any:
        state.tokens.ttl = (await _body(request, TokenTtl)).seconds
        return {"seconds": state.tokens.ttl}

    async def get_token_ttl(request: Request) -> Any:
        return {"seconds": state.tokens.ttl}

    async def delete_tokens(request: Request) -> Any:
        return {"revoked": state.tokens.revoke_all()}

    table: list[tuple[str, str, Any]] = [
        ("/_sim/directory", "POST", put_directory),
        ("/_sim/directory", "GET", get_directory),
        ("/_sim/clear", "POST", clear),
        ("/_sim/admin-events", "DELETE", clear_events),
        ("/_sim/users", "POST", add_user),
        ("/_sim/users/{uid}", "PATCH", patch_user),
        ("/_sim/users/{uid}", "DELETE", delete_user),
        ("/_sim/groups", "POST", add_group),
        ("/_sim/groups/{gid}", "PATCH", patch_group),
        ("/_sim/groups/{gid}", "DELETE", delete_group),
        ("/_sim/groups/{gid}/members/{uid}", "PUT", put_member),
        ("/_sim/groups/{gid}/members/{uid}", "DELETE", delete_member),
        ("/_sim/faults", "PUT", put_faults),
        ("/_sim/faults", "GET", get_faults),
        ("/_sim/requests", "GET", get_requests),
        ("/_sim/requests", "DELETE", delete_requests),
        ("/_sim/token-ttl", "PUT", put_token_ttl),
        ("/_sim/token-ttl", "GET", get_token_ttl),
        ("/_sim/tokens", "DELETE", delete_tokens),
    ]
    return [Route(path, _endpoint(handler), methods=[method]) for path, method, handler in table]


def _endpoint(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except _Problem as problem:
            return json_response({"error": str(problem)}, status=problem.status)
        except ConflictError as conflict:
            return json_response({"error": str(conflict)}, status=409)
        status, body = result if isinstance(result, tuple) else (200, result)
        if body is None:
            return Response(status_code=status)
        return json_response(body, status=status)

    return endpoint


def _summary(state: SimState) -> dict[str, int]:
    directory = state.store.directory
    return {
        "users": len(directory.users),
        "groups": len(directory.groups),
        "memberships": directory.membership_count(),
    }
