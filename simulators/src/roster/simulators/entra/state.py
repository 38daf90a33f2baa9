"""The simulated Entra tenant: users, groups, memberships, and the change log behind delta.

Plain data plus the mutations the `/_sim/` routes perform. Every mutation appends to the
change log (a sequence number per change), which is what delta tokens point into, and
returns the Graph resources it touched so subscriptions can be notified. No HTTP here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from roster.simulators.common.faults import Faults, RequestLog
from roster.simulators.directory import Directory, generate_directory
from roster.simulators.entra.limits import Throttle, TokenIssuer
from roster.simulators.entra.subscriptions import Subscriptions

USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"
DEFAULT_USER_PROPERTIES = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
)  # fmt: skip
"""What `/users` returns without `$select` (idp-apis.md §1.2): no accountEnabled."""
DEFAULT_GROUP_PROPERTIES = (
    "id", "displayName", "description", "mail", "mailEnabled", "mailNickname",
    "securityEnabled", "groupTypes", "createdDateTime",
)  # fmt: skip


@dataclass
class EntraSimConfig:
    tenant_id: str = "8f1d6a8e-3c1b-4a51-9d35-6a3f2c1e0b77"
    domain: str = "contoso.onmicrosoft.com"
    client_id: str = "5b0c2a7e-roster-sync"
    client_secret: str = "entra-secret"
    users: int = 1000
    groups: int = 50
    memberships: int = 5000
    seed: int = 1
    token_ttl: int = 3599
    """Access-token lifetime, seconds (Entra issues 60–90 minutes; 3599 is typical)."""
    delta_ttl: int = 7 * 24 * 3600
    """Delta-token lifetime, seconds (7 days for directory objects)."""
    delta_page_size: int = 200
    """Objects per delta page (Graph picks its own page size for delta)."""
    members_per_delta_object: int = 100
    """A large group's `members@delta` is split across repeated group objects."""
    rate_limit_ru: int = 0
    """Resource units per 10 s for this app+tenant; 0 = unlimited."""
    validation_timeout: float = 10.0
    """Seconds Graph waits for the validation handshake answer."""
    guests_every: int = 40
    """Every n-th user is a B2B guest (`…#EXT#@domain` UPN); 0 = none."""
    no_mail_every: int = 97
    """Every n-th user has no `mail`; 0 = none."""
    clock: Callable[[], float] = time.time
    """Seconds since the epoch; injected so expiry is testable without sleeping."""


@dataclass
class User:
    id: str
    upn: str
    mail: str | None
    given: str
    surname: str
    display: str
    enabled: bool = True
    user_type: Literal["Member", "Guest"] = "Member"
    department: str | None = None
    job_title: str | None = None
    employee_id: str | None = None

    def resource(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "businessPhones": [],
            "displayName": self.display,
            "givenName": self.given,
            "surname": self.surname,
            "jobTitle": self.job_title,
            "mail": self.mail,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "userPrincipalName": self.upn,
            "accountEnabled": self.enabled,
            "department": self.department,
            "employeeId": self.employee_id,
            "userType": self.user_type,
        }


@dataclass
class Group:
    id: str
    name: str
    description: str | None = None
    members: dict[str, str] = field(default_factory=dict)
    """Direct member id → its `@odata.type` (users and nested groups), insertion ordered."""

    def resource(self) -> dict[str, Any]:
        nickname = "".join(c for c in self.name.lower() if c.isalnum() or c == "-")
        return {
            "id": self.id,
            "displayName": self.name,
            "description": self.description,
            "mail": None,
            "mailEnabled": False,
            "mailNickname": nickname or "group",
            "securityEnabled": True,
            "groupTypes": [],
            "createdDateTime": "2021-03-04T10:00:00Z",
        }


@dataclass(frozen=True)
class ChangeEntry:
    seq: int
    kind: Literal["user", "group", "member", "reset"]
    object_id: str
    """User id, or group id (for `group` and `member`)."""
    member_id: str | None = None
    member_type: str | None = None
    removed: Literal["changed", "deleted"] | None = None
    """For users/groups: soft (`changed`) or hard (`deleted`) deletion; for a member: removal."""


@dataclass
class Tenant:
    """Directory state and its change log."""

    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    deleted_users: dict[str, User] = field(default_factory=dict)
    """Soft-deleted users (restorable), like Entra's deletedItems."""
    log: list[ChangeEntry] = field(default_factory=list)
    reset_floor: int = 0
    """Delta tokens from before this sequence number are answered 410 Gone."""

    @property
    def seq(self) -> int:
        return len(self.log)

    def _record(
        self, kind: Literal["user", "group", "member", "reset"], object_id: str, **kw: Any
    ) -> None:
        self.log.append(ChangeEntry(seq=len(self.log) + 1, kind=kind, object_id=object_id, **kw))

    # ----------------------------------------------------------------- mutations

    def reset_delta(self) -> int:
        """Invalidate every state token issued so far (they get 410 Gone from now on)."""
        self._record("reset", "")
        self.reset_floor = self.seq
        return self.reset_floor

    def put_user(self, user: User) -> None:
        self.users[user.id] = user
        self.deleted_users.pop(user.id, None)
        self._record("user", user.id)

    def delete_user(self, user_id: str, *, permanent: bool) -> bool:
        user = self.users.pop(user_id, None)
        if user is None and (not permanent or user_id not in self.deleted_users):
            return False
        self.deleted_users.pop(user_id, None)
        if user is not None and not permanent:
            self.deleted_users[user_id] = user
        for group in self.groups.values():
            if group.members.pop(user_id, None) is not None:
                self._record("member", group.id, member_id=user_id, member_type=USER_TYPE,
                             removed="deleted")  # fmt: skip
        self._record("user", user_id, removed="deleted" if permanent else "changed")
        return True

    def put_group(self, group: Group) -> None:
        self.groups[group.id] = group
        self._record("group", group.id)

    def delete_group(self, group_id: str) -> bool:
        if self.groups.pop(group_id, None) is None:
            return False
        for group in self.groups.values():
            if group.members.pop(group_id, None) is not None:
                self._record("member", group.id, member_id=group_id, member_type=GROUP_TYPE,
                             removed="deleted")  # fmt: skip
        self._record("group", group_id, removed="changed")
        return True

    def set_member(self, group_id: str, member_id: str, *, present: bool) -> bool:
        """Add or remove one direct member; False when nothing changed."""
        group = self.groups[group_id]
        if present:
            if member_id in group.members:
                return False
            member_type = GROUP_TYPE if member_id in self.groups else USER_TYPE
            group.members[member_id] = member_type
            self._record("member", group_id, member_id=member_id, member_type=member_type)
            return True
        if member_id not in group.members:
            return False
        member_type = group.members.pop(member_id)
        self._record("member", group_id, member_id=member_id, member_type=member_type,
                     removed="deleted")  # fmt: skip
        return True

    # ----------------------------------------------------------------- reads

    def transitive_members(self, group_id: str) -> dict[str, str]:
        """Every member reachable through nested groups (users and groups), each once."""
        found: dict[str, str] = {}
        stack = [group_id]
        visited = {group_id}
        while stack:
            for member_id, member_type in self.groups[stack.pop()].members.items():
                if member_id in found:
                    continue
                found[member_id] = member_type
                nested = member_type == GROUP_TYPE and member_id in self.groups
                if nested and member_id not in visited:
                    visited.add(member_id)
                    stack.append(member_id)
        return found

    def member_resource(self, member_id: str, member_type: str) -> dict[str, Any]:
        if member_type == GROUP_TYPE and member_id in self.groups:
            return {"@odata.type": GROUP_TYPE, **self.groups[member_id].resource()}
        user = self.users.get(member_id)
        if user is None:
            return {"@odata.type": member_type, "id": member_id}
        return {"@odata.type": USER_TYPE, **user.resource()}


def tenant_from_directory(directory: Directory, config: EntraSimConfig) -> Tenant:
    """Graph users and groups from the IdP-neutral generated directory.

    Logins become `login@domain` UPNs; every `guests_every`-th user is a B2B guest whose UPN
    carries `#EXT#` and whose mail is at a partner domain; every `no_mail_every`-th has no
    mail. Nested groups (a generated parent) become group members of their parent.
    """
    tenant = Tenant()
    for index, raw in enumerate(directory.users.values(), start=1):
        guest = config.guests_every > 0 and index % config.guests_every == 0
        mail: str | None = raw.email
        upn = f"{raw.username}@{config.domain}"
        if guest:
            mail = f"{raw.username}@partner.example.net"
            upn = f"{raw.username}_partner.example.net#EXT#@{config.domain}"
        if config.no_mail_every > 0 and index % config.no_mail_every == 0:
            mail = None
        tenant.users[raw.id] = User(
            id=raw.id,
            upn=upn,
            mail=mail,
            given=raw.first_name,
            surname=raw.last_name,
            display=f"{raw.first_name} {raw.last_name}",
            enabled=raw.enabled,
            user_type="Guest" if guest else "Member",
            department=raw.attributes.get("department"),
            job_title=raw.attributes.get("title"),
            employee_id=raw.attributes.get("employeeNumber"),
        )
    for raw_group in directory.groups.values():
        group = Group(id=raw_group.id, name=raw_group.name)
        group.members = {m: USER_TYPE for m in sorted(raw_group.members)}
        tenant.groups[group.id] = group
    for raw_group in directory.groups.values():
        if raw_group.parent_id is not None and raw_group.parent_id in tenant.groups:
            tenant.groups[raw_group.parent_id].members[raw_group.id] = GROUP_TYPE
    return tenant


@dataclass
class SimState:
    config: EntraSimConfig
    tenant: Tenant
    tokens: TokenIssuer
    throttle: Throttle
    subscriptions: Subscriptions
    faults: Faults = field(default_factory=Faults)
    requests: RequestLog = field(default_factory=RequestLog)


def build_state(
    config: EntraSimConfig, *, transport: httpx.AsyncBaseTransport | None = None
) -> SimState:
    """`transport` carries the simulator's own POSTs (validation, notifications)."""
    directory = generate_directory(config.users, config.groups, config.memberships, config.seed)
    return SimState(
        config=config,
        tenant=tenant_from_directory(directory, config),
        tokens=TokenIssuer(ttl=config.token_ttl, clock=config.clock),
        throttle=Throttle(limit_ru=config.rate_limit_ru, clock=config.clock),
        subscriptions=Subscriptions(
            clock=config.clock,
            tenant_id=config.tenant_id,
            application_id=config.client_id,
            timeout=config.validation_timeout,
            transport=transport,
        ),
    )
