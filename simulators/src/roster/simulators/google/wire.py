"""Google's JSON: resource representations and the error envelope of the Admin SDK.

Quirks kept on purpose: list responses leave out an empty item array (`users`, `groups`,
`members`, `items`) and a last page has no `nextPageToken`; errors carry the classic
`{"error": {"code", "message", "errors": [{"domain", "reason", "message"}], "status"}}`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.responses import Response

from roster.simulators.google.store import Activity, GGroup, GUser, Store, rfc3339

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        media_type="application/json; charset=UTF-8",
        headers=headers,
    )


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        reason: str,
        *,
        domain: str = "global",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.domain = domain
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.status,
            "message": self.message,
            "errors": [{"message": self.message, "domain": self.domain, "reason": self.reason}],
        }
        if self.status in STATUS_NAMES:
            error["status"] = STATUS_NAMES[self.status]
        return {"error": error}

    def response(self) -> Response:
        return json_response(self.body(), self.status, self.headers)


def etag(*parts: object) -> str:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:27]
    return f'"{digest}"'


def user_rep(user: GUser, store: Store, *, projection: str = "basic") -> dict[str, Any]:
    rep: dict[str, Any] = {
        "kind": "admin#directory#user",
        "id": user.id,
        "etag": etag(user.id, user.version),
        "primaryEmail": user.primary_email,
        "name": {
            "givenName": user.given_name,
            "familyName": user.family_name,
            "fullName": user.full_name,
        },
        "isAdmin": user.is_admin,
        "isDelegatedAdmin": False,
        "lastLoginTime": "1970-01-01T00:00:00.000Z",
        "creationTime": rfc3339(user.creation_time),
        "agreedToTerms": True,
        "suspended": user.suspended,
        "archived": user.archived,
        "changePasswordAtNextLogin": False,
        "ipWhitelisted": False,
        "emails": [{"address": user.primary_email, "primary": True}],
        "customerId": store.customer_id,
        "orgUnitPath": user.org_unit_path,
        "isMailboxSetup": True,
        "isEnrolledIn2Sv": False,
        "isEnforcedIn2Sv": False,
        "includeInGlobalAddressList": True,
    }
    if user.suspended:
        rep["suspensionReason"] = "ADMIN"
    if user.deletion_time is not None:
        rep["deletionTime"] = rfc3339(user.deletion_time)
    if projection == "full":
        org: dict[str, Any] = {"primary": True, "customType": ""}
        if user.department:
            org["department"] = user.department
        if user.title:
            org["title"] = user.title
        if user.department or user.title:
            rep["organizations"] = [org]
        if user.employee_id:
            rep["externalIds"] = [{"value": user.employee_id, "type": "organization"}]
        if user.location:
            rep["locations"] = [{"type": "desk", "area": user.location}]
    return rep


def group_rep(group: GGroup, store: Store) -> dict[str, Any]:
    return {
        "kind": "admin#directory#group",
        "id": group.id,
        "etag": etag(group.id, group.version),
        "email": group.email,
        "name": group.name,
        "directMembersCount": str(len(group.members)),
        "description": group.description,
        "adminCreated": group.admin_created,
        "nonEditableAliases": [group.email.replace("@", "@test-google-a.")],
    }


def member_rep(member_id: str, role: str, store: Store) -> dict[str, Any]:
    if member_id in store.users:
        user = store.users[member_id]
        return {
            "kind": "admin#directory#member",
            "etag": etag("member", member_id, user.version),
            "id": member_id,
            "email": user.primary_email,
            "role": role,
            "type": "USER",
            "status": "SUSPENDED" if user.suspended else "ACTIVE",
        }
    group = store.groups[member_id]
    return {
        "kind": "admin#directory#member",
        "etag": etag("member", member_id, group.version),
        "id": member_id,
        "email": group.email,
        "role": role,
        "type": "GROUP",
        "status": "ACTIVE",
    }


def activity_rep(activity: Activity, store: Store, actor_email: str) -> dict[str, Any]:
    return {
        "kind": "admin#reports#activity",
        "id": {
            "time": rfc3339(activity.time),
            "uniqueQualifier": activity.unique_qualifier,
            "applicationName": "admin",
            "customerId": store.customer_id,
        },
        "etag": etag("activity", activity.unique_qualifier),
        "actor": {
            "callerType": "USER",
            "email": actor_email,
            "profileId": store.users[next(iter(store.users))].id if store.users else "0",
        },
        "ipAddress": "203.0.113.7",
        "events": [
            {
                "type": activity.type,
                "name": activity.name,
                "parameters": [{"name": k, "value": v} for k, v in activity.parameters.items()],
            }
        ],
    }
