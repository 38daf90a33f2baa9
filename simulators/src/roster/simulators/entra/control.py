"""`/_sim/` control routes: change the tenant, switch faults, throttling, token and delta
expiry, drive subscriptions (lifecycle events), read the request and delivery logs.

Directory changes go through `Tenant` so the delta log sees them, and are announced to the
covering subscriptions the way Graph does (changeType `updated` / `deleted`).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from roster.simulators.common.faults import Faults
from roster.simulators.entra.state import GROUP_TYPE, Group, SimState, User
from roster.simulators.entra.subscriptions import SubscriptionError


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserBody(_Body):
    userPrincipalName: str | None = None
    mail: str | None = None
    givenName: str | None = None
    surname: str | None = None
    displayName: str | None = None
    accountEnabled: bool | None = None
    department: str | None = None
    userType: Literal["Member", "Guest"] | None = None


class GroupBody(_Body):
    displayName: str | None = None
    description: str | None = None


class ThrottleBody(_Body):
    limit_ru: int | None = None
    storm: int | None = None
    storm_retry_after: int | None = None


class TokenBody(_Body):
    ttl: int


class DeltaBody(_Body):
    ttl: int | None = None
    page_size: int | None = None
    members_per_object: int | None = None


class LifecycleBody(_Body):
    event: Literal["reauthorizationRequired", "subscriptionRemoved", "missed"]


class NotifyBody(_Body):
    collection: Literal["users", "groups"]
    id: str
    changeType: Literal["updated", "deleted"] = "updated"


def directory_view(state: SimState) -> dict[str, Any]:
    """The tenant in plain terms, for demos and tests to compare against."""
    tenant = state.tenant
    return {
        "users": [
            {"id": u.id, "userPrincipalName": u.upn, "mail": u.mail, "displayName": u.display,
             "givenName": u.given, "surname": u.surname, "accountEnabled": u.enabled,
             "userType": u.user_type}
            for u in tenant.users.values()
        ],
        "groups": [{"id": g.id, "displayName": g.name} for g in tenant.groups.values()],
        "memberships": {
            g.id: [m for m, t in g.members.items() if t != GROUP_TYPE]
            for g in tenant.groups.values()
        },
        "nested": {
            g.id: [m for m, t in g.members.items() if t == GROUP_TYPE]
            for g in tenant.groups.values()
        },
    }  # fmt: skip


def control_router(state: SimState) -> APIRouter:
    router = APIRouter(prefix="/_sim")
    tenant = state.tenant

    async def announce(collection: str, object_id: str, change: str, notify: bool) -> None:
        if notify:
            await state.subscriptions.notify([(collection, object_id, change)])

    def user_or_404(user_id: str) -> User:
        user = tenant.users.get(user_id)
        if user is None:
            raise HTTPException(404, f"no user {user_id}")
        return user

    def group_or_404(group_id: str) -> Group:
        group = tenant.groups.get(group_id)
        if group is None:
            raise HTTPException(404, f"no group {group_id}")
        return group

    @router.get("/directory")
    async def directory() -> dict[str, Any]:
        return directory_view(state)

    @router.post("/users", status_code=201)
    async def create_user(body: UserBody, notify: bool = True) -> dict[str, Any]:
        if not body.userPrincipalName:
            raise HTTPException(400, "userPrincipalName is required")
        given, surname = body.givenName or "", body.surname or ""
        user = User(
            id=str(uuid.uuid4()),
            upn=body.userPrincipalName,
            mail=body.mail,
            given=given,
            surname=surname,
            display=body.displayName or f"{given} {surname}".strip() or body.userPrincipalName,
            enabled=body.accountEnabled if body.accountEnabled is not None else True,
            user_type=body.userType or "Member",
            department=body.department,
        )
        tenant.put_user(user)
        await announce("users", user.id, "updated", notify)
        return user.resource()

    @router.patch("/users/{user_id}")
    async def update_user(user_id: str, body: UserBody, notify: bool = True) -> dict[str, Any]:
        user = user_or_404(user_id)
        changes = body.model_dump(exclude_unset=True)
        fields = {"userPrincipalName": "upn", "givenName": "given", "displayName": "display",
                  "accountEnabled": "enabled", "userType": "user_type"}  # fmt: skip
        for key, value in changes.items():
            setattr(user, fields.get(key, key), value)
        tenant.put_user(user)
        await announce("users", user.id, "updated", notify)
        return user.resource()

    @router.delete("/users/{user_id}", status_code=204)
    async def delete_user(user_id: str, permanent: bool = False, notify: bool = True) -> None:
        if not tenant.delete_user(user_id, permanent=permanent):
            raise HTTPException(404, f"no user {user_id}")
        await announce("users", user_id, "deleted", notify)

    @router.post("/users/{user_id}/restore")
    async def restore_user(user_id: str, notify: bool = True) -> dict[str, Any]:
        user = tenant.deleted_users.get(user_id)
        if user is None:
            raise HTTPException(404, f"no soft-deleted user {user_id}")
        tenant.put_user(user)
        await announce("users", user_id, "updated", notify)
        return user.resource()

    @router.post("/groups", status_code=201)
    async def create_group(body: GroupBody, notify: bool = True) -> dict[str, Any]:
        if not body.displayName:
            raise HTTPException(400, "displayName is required")
        group = Group(id=str(uuid.uuid4()), name=body.displayName, description=body.description)
        tenant.put_group(group)
        await announce("groups", group.id, "updated", notify)
        return group.resource()

    @router.patch("/groups/{group_id}")
    async def update_group(group_id: str, body: GroupBody, notify: bool = True) -> dict[str, Any]:
        group = group_or_404(group_id)
        if body.displayName is not None:
            group.name = body.displayName
        if "description" in body.model_fields_set:
            group.description = body.description
        tenant.put_group(group)
        await announce("groups", group.id, "updated", notify)
        return group.resource()

    @router.delete("/groups/{group_id}", status_code=204)
    async def delete_group(group_id: str, notify: bool = True) -> None:
        if not tenant.delete_group(group_id):
            raise HTTPException(404, f"no group {group_id}")
        await announce("groups", group_id, "deleted", notify)

    @router.put("/groups/{group_id}/members/{member_id}")
    async def add_member(group_id: str, member_id: str, notify: bool = True) -> dict[str, bool]:
        group_or_404(group_id)
        if member_id not in tenant.users and member_id not in tenant.groups:
            raise HTTPException(404, f"no user or group {member_id}")
        changed = tenant.set_member(group_id, member_id, present=True)
        await announce("groups", group_id, "updated", notify and changed)
        return {"changed": changed}

    @router.delete("/groups/{group_id}/members/{member_id}")
    async def remove_member(group_id: str, member_id: str, notify: bool = True) -> dict[str, bool]:
        group_or_404(group_id)
        changed = tenant.set_member(group_id, member_id, present=False)
        await announce("groups", group_id, "updated", notify and changed)
        return {"changed": changed}

    @router.get("/faults")
    async def get_faults() -> Faults:
        return state.faults

    @router.put("/faults")
    async def put_faults(faults: Faults) -> Faults:
        state.faults = faults
        return faults

    @router.get("/requests")
    async def requests(since: int = 0) -> list[dict[str, Any]]:
        return state.requests.entries(since)

    @router.delete("/requests", status_code=204)
    async def clear_requests() -> None:
        state.requests.clear()

    @router.put("/token")
    async def put_token(body: TokenBody) -> dict[str, int]:
        state.tokens.ttl = body.ttl
        return {"ttl": body.ttl}

    @router.post("/token/expire")
    async def expire_tokens() -> dict[str, int]:
        return {"expired": state.tokens.expire_all()}

    @router.get("/throttle")
    async def get_throttle() -> dict[str, int]:
        t = state.throttle
        return {"limit_ru": t.limit_ru, "storm": t.storm, "storm_retry_after": t.storm_retry_after,
                "throttled": t.throttled}  # fmt: skip

    @router.put("/throttle")
    async def put_throttle(body: ThrottleBody) -> dict[str, int]:
        for key, value in body.model_dump(exclude_none=True).items():
            setattr(state.throttle, key, value)
        return await get_throttle()

    @router.put("/delta")
    async def put_delta(body: DeltaBody) -> dict[str, int]:
        if body.ttl is not None:
            state.config.delta_ttl = body.ttl
        if body.page_size is not None:
            state.config.delta_page_size = body.page_size
        if body.members_per_object is not None:
            state.config.members_per_delta_object = body.members_per_object
        return {"ttl": state.config.delta_ttl, "page_size": state.config.delta_page_size}

    @router.post("/delta/reset")
    async def reset_delta() -> dict[str, int]:
        """Every state token issued so far is answered 410 Gone (full resync required)."""
        return {"floor": tenant.reset_delta()}

    @router.get("/subscriptions")
    async def subscriptions() -> list[dict[str, Any]]:
        return [s.resource_json() for s in state.subscriptions.active()]

    @router.post("/subscriptions/{subscription_id}/lifecycle")
    async def lifecycle(subscription_id: str, body: LifecycleBody) -> dict[str, Any]:
        try:
            status = await state.subscriptions.lifecycle(subscription_id, body.event)
        except SubscriptionError as error:
            raise HTTPException(error.status, str(error)) from error
        return {"status": status}

    @router.post("/subscriptions/{subscription_id}/expire", status_code=204)
    async def expire_subscription(subscription_id: str) -> None:
        if state.subscriptions.by_id.pop(subscription_id, None) is None:
            raise HTTPException(404, f"no subscription {subscription_id}")

    @router.post("/notify")
    async def notify(body: NotifyBody) -> dict[str, int]:
        """Send a notification again (Graph may deliver duplicates or out of order)."""
        sent = await state.subscriptions.notify([(body.collection, body.id, body.changeType)])
        return {"posts": sent}

    @router.get("/deliveries")
    async def deliveries(request: Request) -> list[dict[str, Any]]:
        return state.subscriptions.deliveries

    return router
