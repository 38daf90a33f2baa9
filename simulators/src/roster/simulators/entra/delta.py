"""Delta queries of the simulated tenant: `/users/delta` and `/groups/delta` rounds.

A round is the first request plus every `@odata.nextLink` after it; its last page carries the
`@odata.deltaLink` to the next round. State tokens are opaque to clients (base64 JSON here)
and hold the change-log position, the `$select` of the first request and the issue time, so
expired (400 `syncStateNotFound`) and reset (410 Gone) tokens behave as Graph's do (§1.4).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal

from roster.simulators.entra.state import GROUP_TYPE, ChangeEntry, Tenant

Collection = Literal["users", "groups"]


class DeltaError(Exception):
    def __init__(self, status: int, code: str, message: str, *, location: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.location = location


@dataclass(frozen=True)
class DeltaToken:
    collection: Collection
    since: int
    """Changes after this log position belong to the round (0 with `initial`)."""
    until: int
    """Log position when the round began: the next round starts here."""
    select: tuple[str, ...] | None
    issued: float
    initial: bool = False
    offset: int = 0

    def encode(self) -> str:
        raw = json.dumps(
            {"c": self.collection, "s": self.since, "u": self.until,
             "sel": list(self.select) if self.select is not None else None,
             "t": self.issued, "i": self.initial, "o": self.offset},
            separators=(",", ":"),
        )  # fmt: skip
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, collection: Collection) -> DeltaToken:
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            token = cls(
                collection=data["c"],
                since=int(data["s"]),
                until=int(data["u"]),
                select=tuple(data["sel"]) if data["sel"] is not None else None,
                issued=float(data["t"]),
                initial=bool(data["i"]),
                offset=int(data["o"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise DeltaError(400, "BadRequest", "Invalid state token.") from exc
        if token.collection != collection:
            raise DeltaError(400, "BadRequest", "The state token is for another resource.")
        return token


def _select(resource: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    if select is None:
        return resource
    return {k: v for k, v in resource.items() if k == "id" or k in select}


def _user_objects(tenant: Tenant, token: DeltaToken) -> list[dict[str, Any]]:
    if token.initial:
        return [_select(u.resource(), token.select) for u in tenant.users.values()]
    last: dict[str, ChangeEntry] = {}
    for entry in tenant.log[token.since : token.until]:
        if entry.kind == "user":
            last.pop(entry.object_id, None)
            last[entry.object_id] = entry
    objects: list[dict[str, Any]] = []
    for user_id, entry in last.items():
        user = tenant.users.get(user_id)
        if user is not None:
            objects.append(_select(user.resource(), token.select))
        else:
            reason = "changed" if user_id in tenant.deleted_users else (entry.removed or "deleted")
            objects.append({"id": user_id, "@removed": {"reason": reason}})
    return objects


def _member_ref(member_id: str, member_type: str, removed: bool) -> dict[str, Any]:
    ref: dict[str, Any] = {"@odata.type": member_type, "id": member_id}
    if removed:
        ref["@removed"] = {"reason": "deleted"}
    return ref


def _chunks(
    base: dict[str, Any], refs: list[dict[str, Any]], size: int, with_members: bool
) -> list[dict[str, Any]]:
    """A group object, repeated with consecutive `members@delta` slices when large."""
    if not with_members:
        return [base]
    if not refs:
        return [{**base, "members@delta": []}]
    return [{**base, "members@delta": refs[i : i + size]} for i in range(0, len(refs), size)]


def _group_objects(tenant: Tenant, token: DeltaToken, chunk: int) -> list[dict[str, Any]]:
    with_members = token.select is None or "members" in token.select
    objects: list[dict[str, Any]] = []
    if token.initial:
        for group in tenant.groups.values():
            refs = [_member_ref(m, t, False) for m, t in group.members.items()]
            base = _select(group.resource(), token.select)
            objects += _chunks(base, refs, chunk, with_members)
        return objects
    touched: dict[str, bool] = {}
    """Group id → its properties changed (not only its members)."""
    members: dict[str, dict[str, tuple[str, bool]]] = {}
    for entry in tenant.log[token.since : token.until]:
        if entry.kind == "group":
            touched[entry.object_id] = True
        elif entry.kind == "member" and entry.member_id is not None:
            touched.setdefault(entry.object_id, False)
            per_group = members.setdefault(entry.object_id, {})
            per_group.pop(entry.member_id, None)
            per_group[entry.member_id] = (
                entry.member_type or GROUP_TYPE,
                entry.removed is not None,
            )
    for group_id, properties in touched.items():
        current = tenant.groups.get(group_id)
        if current is None:
            objects.append({"id": group_id, "@removed": {"reason": "changed"}})
            continue
        # only the changed parts: an object whose members alone changed carries just its id
        base = _select(current.resource(), token.select) if properties else {"id": group_id}
        refs = [_member_ref(m, t, gone) for m, (t, gone) in members.get(group_id, {}).items()]
        if refs or properties:
            objects += _chunks(base, refs, chunk, with_members)
    return objects


@dataclass(frozen=True)
class DeltaPage:
    value: list[dict[str, Any]]
    next_token: str | None = None
    delta_token: str | None = None


def start(
    tenant: Tenant, collection: Collection, select: tuple[str, ...] | None, *, now: float,
    latest: bool = False,
) -> DeltaToken:  # fmt: skip
    """The token of a round's first page: everything (initial), or nothing (`latest`)."""
    if latest:
        return DeltaToken(collection, tenant.seq, tenant.seq, select, now)
    return DeltaToken(collection, 0, tenant.seq, select, now, initial=True)


def resume(
    tenant: Tenant, collection: Collection, text: str, *, now: float, ttl: float
) -> DeltaToken:
    """A client's `$deltatoken` / `$skiptoken`, checked for expiry and resets."""
    token = DeltaToken.decode(text, collection)
    if now - token.issued > ttl:
        raise DeltaError(
            400,
            "syncStateNotFound",
            "The sync state generation is not found. The delta token is expired and data "
            "must be synchronized again.",
        )
    if (token.until if token.initial else token.since) < tenant.reset_floor:
        raise DeltaError(
            410,
            "resyncRequired",
            "A full resynchronization is required: the state token is no longer valid.",
            location=f"/v1.0/{collection}/delta",
        )
    return token


def next_round(tenant: Tenant, link: DeltaToken, *, now: float) -> DeltaToken:
    """A deltaLink's token opens a round over the changes made since it was issued."""
    return DeltaToken(link.collection, link.until, tenant.seq, link.select, now)


def page(tenant: Tenant, token: DeltaToken, *, size: int, chunk: int, now: float) -> DeltaPage:
    """One page of the round `token` points into; round positions are in the token."""
    objects = (
        _user_objects(tenant, token)
        if token.collection == "users"
        else _group_objects(tenant, token, chunk)
    )
    window = objects[token.offset : token.offset + size]
    if token.offset + size < len(objects):
        following = DeltaToken(
            token.collection, token.since, token.until, token.select, token.issued,
            token.initial, token.offset + size,
        )  # fmt: skip
        return DeltaPage(window, next_token=following.encode())
    done = DeltaToken(token.collection, token.until, token.until, token.select, now)
    return DeltaPage(window, delta_token=done.encode())
