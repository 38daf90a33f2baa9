"""Okta's wire formats: ids, timestamps, User/Group/LogEvent objects, error bodies, `Link`.

Only this module knows how an Okta object looks on the wire (idp-apis.md §2.6, §2.3); the
store keeps plain records and the API module serves what these functions build.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

ACTIVE_STATUSES = frozenset({"ACTIVE", "PROVISIONED", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"})
USER_STATUSES = ACTIVE_STATUSES | {"STAGED", "SUSPENDED", "DEPROVISIONED"}


def okta_id(prefix: str, uuid_text: str) -> str:
    """A 20-character Okta-style id (`00u…` users, `00g…` groups) from a generator UUID."""
    return prefix + uuid_text.replace("-", "")[: 20 - len(prefix)]


@lru_cache(maxsize=1 << 18)
def iso(epoch: float) -> str:
    """`2024-01-01T00:00:00.000Z`: Okta's timestamp format (milliseconds, Z)."""
    text = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO 8601 timestamp; raises ValueError when it is not one."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def json_response(
    body: object, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        _encode(body).encode(), status_code=status, headers=headers, media_type="application/json"
    )


class OktaError(Exception):
    """An API error: `{errorCode, errorSummary, errorLink, errorId, errorCauses}`."""

    def __init__(
        self,
        status: int,
        code: str,
        summary: str,
        *,
        causes: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {summary}")
        self.status = status
        self.code = code
        self.summary = summary
        self.causes = causes or []
        self.headers = headers or {}

    def body(self, error_id: str) -> dict[str, Any]:
        return {
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": error_id,
            "errorCauses": [{"errorSummary": c} for c in self.causes],
        }


class OAuthError(Exception):
    """A token endpoint error: `{error, error_description}`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.description = description


def invalid_token() -> OktaError:
    return OktaError(401, "E0000011", "Invalid token provided")


def forbidden() -> OktaError:
    return OktaError(403, "E0000006", "You do not have permission to perform the requested action")


def not_found(what: str, key: str) -> OktaError:
    return OktaError(404, "E0000007", f"Not found: Resource not found: {key} ({what})")


def invalid(cause: str) -> OktaError:
    return OktaError(
        400, "E0000001", "Api validation failed: " + cause.split(":")[0], causes=[cause]
    )


def rate_limited() -> OktaError:
    return OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests.")


def links(base: str, path: str, params: dict[str, str], after: str | None) -> list[str]:
    """`Link` header values: always `self`, plus `next` when another page exists."""
    values = [f'<{base}{path}{"?" + urlencode(params) if params else ""}>; rel="self"']
    if after is not None:
        following = {**params, "after": after}
        values.append(f'<{base}{path}?{urlencode(following)}>; rel="next"')
    return values


def user_object(base: str, user: Any) -> dict[str, Any]:
    """A User as `GET /api/v1/users` returns it (`credentials` trimmed to the provider)."""
    profile: dict[str, Any] = {
        "login": user.login,
        "email": user.email,
        "secondEmail": None,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "mobilePhone": None,
    }
    if user.display_name is not None:
        profile["displayName"] = user.display_name
    profile.update(user.profile)
    return {
        "id": user.id,
        "status": user.status,
        "created": iso(user.created),
        "activated": iso(user.created) if user.status != "STAGED" else None,
        "statusChanged": iso(user.status_changed),
        "lastLogin": None,
        "lastUpdated": iso(user.last_updated),
        "passwordChanged": iso(user.created),
        "type": {"id": "oty1a2b3c4d5e6f7g8h9"},
        "profile": profile,
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": f"{base}/api/v1/users/{user.id}"}},
    }


def group_object(base: str, group: Any) -> dict[str, Any]:
    rep: dict[str, Any] = {
        "id": group.id,
        "created": iso(group.created),
        "lastUpdated": iso(group.last_updated),
        "lastMembershipUpdated": iso(group.last_membership_updated),
        "objectClass": ["okta:user_group"],
        "type": group.type,
        "profile": {"name": group.name, "description": group.description},
        "_links": {
            "self": {"href": f"{base}/api/v1/groups/{group.id}"},
            "users": {"href": f"{base}/api/v1/groups/{group.id}/users"},
        },
    }
    if group.type == "APP_GROUP":
        rep["source"] = {"id": group.source_id}
        rep["objectClass"] = ["okta:windows_security_principal"]
    return rep
