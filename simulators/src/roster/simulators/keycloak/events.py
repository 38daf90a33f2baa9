"""Admin events of the simulated realm, as `GET /admin/realms/{realm}/admin-events` serves them.

Only changes made through the `/_sim/` control routes are recorded (the simulated admin's
work); regenerating or clearing the directory starts a fresh log. Newest first unless
`direction=asc`, as in Keycloak.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from roster.simulators.keycloak.errors import KeycloakError, server_error
from roster.simulators.keycloak.store import page

OPERATION_TYPES = frozenset({"CREATE", "UPDATE", "DELETE", "ACTION"})
RESOURCE_TYPES = frozenset(
    {
        "REALM",
        "REALM_ROLE",
        "REALM_ROLE_MAPPING",
        "REALM_SCOPE_MAPPING",
        "AUTH_FLOW",
        "AUTH_EXECUTION_FLOW",
        "AUTH_EXECUTION",
        "AUTHENTICATOR_CONFIG",
        "REQUIRED_ACTION",
        "IDENTITY_PROVIDER",
        "IDENTITY_PROVIDER_MAPPER",
        "PROTOCOL_MAPPER",
        "USER",
        "USER_LOGIN_FAILURE",
        "USER_SESSION",
        "USER_FEDERATION_PROVIDER",
        "USER_FEDERATION_MAPPER",
        "GROUP",
        "GROUP_MEMBERSHIP",
        "CLIENT",
        "CLIENT_INITIAL_ACCESS_MODEL",
        "CLIENT_ROLE",
        "CLIENT_ROLE_MAPPING",
        "CLIENT_SCOPE",
        "CLIENT_SCOPE_MAPPING",
        "CLIENT_SCOPE_CLIENT_MAPPING",
        "CLUSTER_NODE",
        "COMPONENT",
        "AUTHORIZATION_RESOURCE_SERVER",
        "AUTHORIZATION_RESOURCE",
        "AUTHORIZATION_SCOPE",
        "AUTHORIZATION_POLICY",
        "CUSTOM",
        "ORGANIZATION",
        "ORGANIZATION_MEMBERSHIP",
    }
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class AdminEvent:
    id: str
    time: int
    """Epoch milliseconds."""
    operation_type: str
    resource_type: str
    resource_path: str
    representation: str | None


@dataclass(frozen=True, slots=True)
class EventQuery:
    operation_types: Sequence[str] = ()
    resource_types: Sequence[str] = ()
    resource_path: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    auth_realm: str | None = None
    auth_client: str | None = None
    auth_user: str | None = None
    auth_ip_address: str | None = None
    direction: str | None = None
    first: int | None = None
    max: int | None = None


class AdminEventLog:
    def __init__(
        self,
        *,
        realm_id: str,
        auth_details: dict[str, str],
        clock: Callable[[], float],
        enabled: bool = True,
    ) -> None:
        self.realm_id = realm_id
        self.auth_details = auth_details
        self.enabled = enabled
        self._clock = clock
        self._events: list[AdminEvent] = []

    def record(
        self,
        operation: str,
        resource_type: str,
        resource_path: str,
        representation: dict[str, Any] | None = None,
    ) -> None:
        if not self.enabled:
            return
        rep = None
        if representation is not None:
            rep = json.dumps(representation, separators=(",", ":"), ensure_ascii=False)
        self._events.append(
            AdminEvent(
                str(uuid.uuid4()),
                int(self._clock() * 1000),
                operation,
                resource_type,
                resource_path,
                rep,
            )
        )

    def clear(self) -> None:
        self._events.clear()

    def __len__(self) -> int:
        return len(self._events)

    def query(self, q: EventQuery) -> list[dict[str, Any]]:
        for value in q.operation_types:
            if value not in OPERATION_TYPES:
                raise server_error()
        for value in q.resource_types:
            if value not in RESOURCE_TYPES:
                raise server_error()
        if q.direction not in (None, "asc", "desc"):
            raise KeycloakError(
                400, "Invalid value for sortDirection, expected value is asc or desc"
            )
        low = _bound(q.date_from, "dateFrom", end_of_day=False)
        high = _bound(q.date_to, "dateTo", end_of_day=True)
        path = _path_matcher(q.resource_path)
        for key, wanted in (
            ("realmId", q.auth_realm),
            ("clientId", q.auth_client),
            ("userId", q.auth_user),
            ("ipAddress", q.auth_ip_address),
        ):
            if wanted is not None and self.auth_details.get(key) != wanted:
                return []
        events = self._events if q.direction == "asc" else self._events[::-1]
        selected = [
            e
            for e in events
            if (not q.operation_types or e.operation_type in q.operation_types)
            and (not q.resource_types or e.resource_type in q.resource_types)
            and (low is None or e.time >= low)
            and (high is None or e.time <= high)
            and (path is None or path.fullmatch(e.resource_path))
        ]
        max_results = 100 if q.max is None else q.max
        if max_results == 0:
            return []
        return [self._representation(e) for e in page(selected, q.first, max_results)]

    def _representation(self, event: AdminEvent) -> dict[str, Any]:
        rep: dict[str, Any] = {
            "id": event.id,
            "time": event.time,
            "realmId": self.realm_id,
            "authDetails": dict(self.auth_details),
            "operationType": event.operation_type,
            "resourceType": event.resource_type,
            "resourcePath": event.resource_path,
        }
        if event.representation is not None:
            rep["representation"] = event.representation
        return rep


def _bound(value: str | None, name: str, *, end_of_day: bool) -> int | None:
    """`yyyy-MM-dd` (start or end of that UTC day) or epoch milliseconds, as Keycloak 26 takes."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    if _DAY.match(value):
        try:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            pass
        else:
            if end_of_day:
                return int((day + timedelta(days=1)).timestamp() * 1000) - 1
            return int(day.timestamp() * 1000)
    raise KeycloakError(
        400, f"Invalid value for '{name}', expected format is yyyy-MM-dd or an Epoch timestamp"
    )


def _path_matcher(pattern: str | None) -> re.Pattern[str] | None:
    """Keycloak compares resourcePath with SQL LIKE after turning `*` into `%`."""
    if pattern is None:
        return None
    wildcards = {"*": ".*", "%": ".*", "_": "."}
    return re.compile("".join(wildcards.get(c) or re.escape(c) for c in pattern))
