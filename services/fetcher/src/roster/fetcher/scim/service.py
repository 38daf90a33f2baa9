"""SCIM operations of one directory, HTTP-free: validate, compute the new resource and its
changes, write atomically, tell the batcher; refusals are `ScimError`.

201/200/204/404/409 as Entra and Okta expect: a taken userName (case-insensitive) or group
displayName is 409 `uniqueness`, an unknown id 404, a no-op PATCH writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from roster.fetcher.scim import events, patch
from roster.fetcher.scim.errors import ScimError, invalid_value, not_found, uniqueness
from roster.fetcher.scim.filter import Filter, equality_lookup, matches, parse
from roster.fetcher.scim.resources import normalise
from roster.fetcher.scim.schemas import GROUPS, USERS, Json, ResourceKind
from roster.fetcher.scim.store import ScimStore, Stored, dumps

ATTEMPTS = 20
"""Optimistic retries of one write that keeps losing races (then 409, never a 5xx)."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Page:
    total: int
    start: int
    resources: list[Json]


class ScimService:
    def __init__(
        self,
        store: ScimStore,
        *,
        notify: Callable[[], None] = lambda: None,
        now: Callable[[], str] = _now,
    ) -> None:
        self.store = store
        self.notify = notify
        self.now = now

    # -- reads -------------------------------------------------------------------------

    async def get(self, kind: ResourceKind, resource_id: str) -> Json:
        stored = await self.store.get(kind, resource_id)
        if stored is None:
            raise not_found(f"{kind.name} {resource_id} not found")
        return self._located(kind, stored.resource)

    async def search(
        self, kind: ResourceKind, filter_text: str | None, start: int, count: int
    ) -> Page:
        flt: Filter | None = parse(kind, filter_text) if filter_text else None
        candidates: list[Json]
        name = equality_lookup(flt, kind.unique) if flt is not None else None
        if name is not None:
            found = await self.store.by_name(kind, name)
            candidates = [found.resource] if found is not None else []
        elif flt is not None and (rid := equality_lookup(flt, "id")) is not None:
            got = await self.store.get(kind, rid)
            candidates = [got.resource] if got is not None else []
        else:
            candidates = await self.store.all(kind)
        hits = [r for r in candidates if flt is None or matches(flt, r)]
        page = hits[start - 1 : start - 1 + count] if count > 0 else []
        return Page(len(hits), start, [self._located(kind, r) for r in page])

    # -- writes ------------------------------------------------------------------------

    async def create(self, kind: ResourceKind, body: Any) -> Json:
        attrs = normalise(kind, body)
        await self._check_members(kind, attrs)
        resource_id = str(uuid.uuid4())
        stamp = self.now()
        resource = self._build(kind, resource_id, attrs, created=stamp, modified=stamp)
        changes = self._changes(kind, None, resource)
        outcome = await self.store.write(kind, resource_id, old=None, new=resource, changes=changes)
        if outcome != "ok":
            raise uniqueness(f"a {kind.name} with {kind.unique} {attrs[kind.unique]!r} exists")
        self._notify(changes)
        return self._located(kind, resource)

    async def replace(self, kind: ResourceKind, resource_id: str, body: Any) -> Json:
        attrs = normalise(kind, body)
        await self._check_members(kind, attrs)
        return await self._update(kind, resource_id, lambda _old: attrs)

    async def patch(self, kind: ResourceKind, resource_id: str, body: Any) -> Json:
        patch.operations(body)  # a malformed body is refused even for an unknown id

        def change(old: Json) -> Json:
            current = {k: v for k, v in old.items() if k not in ("id", "meta", "schemas")}
            return normalise(kind, patch.apply(kind, current, body))

        return await self._update(kind, resource_id, change, check_members=True)

    async def delete(self, kind: ResourceKind, resource_id: str) -> None:
        for _ in range(ATTEMPTS):
            old = await self.store.get(kind, resource_id)
            if old is None:
                raise not_found(f"{kind.name} {resource_id} not found")
            changes = self._changes(kind, old.resource, None)
            outcome = await self.store.write(kind, resource_id, old=old, new=None, changes=changes)
            if outcome == "ok":
                self._notify(changes)
                return
            if outcome == "missing":
                raise not_found(f"{kind.name} {resource_id} not found")
        raise ScimError(409, f"{kind.name} {resource_id} changed too often; retry")

    async def _update(
        self,
        kind: ResourceKind,
        resource_id: str,
        change: Callable[[Json], Json],
        *,
        check_members: bool = False,
    ) -> Json:
        for _ in range(ATTEMPTS):
            old = await self.store.get(kind, resource_id)
            if old is None:
                raise not_found(f"{kind.name} {resource_id} not found")
            attrs = change(old.resource)
            if check_members:
                await self._check_members(kind, attrs, old.resource)
            created = old.resource.get("meta", {}).get("created") or self.now()
            new = self._build(kind, resource_id, attrs, created=created, modified=None)
            if _same(old, new):
                return self._located(kind, old.resource)
            new["meta"]["lastModified"] = self.now()
            new["meta"]["version"] = _version(new)
            changes = self._changes(kind, old.resource, new)
            outcome = await self.store.write(kind, resource_id, old=old, new=new, changes=changes)
            if outcome == "ok":
                self._notify(changes)
                return self._located(kind, new)
            if outcome == "missing":
                raise not_found(f"{kind.name} {resource_id} not found")
            if outcome == "conflict":
                raise uniqueness(f"a {kind.name} with {kind.unique} {attrs[kind.unique]!r} exists")
        raise ScimError(409, f"{kind.name} {resource_id} changed too often; retry")

    async def _check_members(
        self, kind: ResourceKind, attrs: Json, old: Json | None = None
    ) -> None:
        """New members must be users of this directory (Entra adds users before groups)."""
        if kind is not GROUPS:
            return
        before = set(events.members(old))
        fresh = [m for m in events.members(attrs) if m not in before]
        known = await self.store.exists(USERS, fresh)
        unknown = [m for m, ok in zip(fresh, known, strict=True) if not ok]
        if unknown:
            raise invalid_value(f"members: no user with id {', '.join(unknown[:5])}")

    def _build(
        self,
        kind: ResourceKind,
        resource_id: str,
        attrs: Json,
        *,
        created: str,
        modified: str | None,
    ) -> Json:
        schemas = [kind.schema, *(urn for urn in kind.extensions if urn in attrs)]
        resource: Json = {"schemas": schemas, "id": resource_id, **attrs}
        resource["meta"] = {
            "resourceType": kind.name,
            "created": created,
            "lastModified": modified or created,
        }
        resource["meta"]["version"] = _version(resource)
        return resource

    def _located(self, kind: ResourceKind, resource: Json) -> Json:
        return dict(resource)

    def _changes(self, kind: ResourceKind, old: Json | None, new: Json | None) -> list[Json]:
        try:
            if kind is USERS:
                return events.user_changes(old, new)
            return events.group_changes(old, new)
        except ValidationError as exc:
            detail = exc.errors()[0]["msg"]
            raise invalid_value(f"the resource cannot be provisioned: {detail}") from None

    def _notify(self, changes: list[Json]) -> None:
        if changes:
            self.notify()


def _version(resource: Json) -> str:
    body = {k: v for k, v in resource.items() if k != "meta"}
    return 'W/"' + hashlib.sha1(dumps(body).encode(), usedforsecurity=False).hexdigest()[:16] + '"'


def _same(old: Stored, new: Json) -> bool:
    a = {k: v for k, v in old.resource.items() if k != "meta"}
    b = {k: v for k, v in new.items() if k != "meta"}
    return a == b
