"""Entra ID connector: full snapshots and delta syncs from Microsoft Graph (idp-apis.md §1).

Users from `/users`, groups from `/groups`, members from `/groups/{id}/members` (or
`/transitiveMembers`), each with `$select` and `$top`. Deltas run `/users/delta` and
`/groups/delta` (with `members@delta`) from the two stored deltaLinks; subscriptions for the
webhook are created and renewed through this connector too. Transport: `entra_client`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.connectors.entra_client import GraphClient
from roster.fetcher.connectors.streams import ordered_streams
from roster.fetcher.core.changes import ChangeSet, CursorExpired
from roster.fetcher.core.entra import (
    GROUP_DELTA_SELECT,
    GROUP_SELECT,
    USER_SELECT,
    DeltaCursor,
    JsonObject,
    assemble,
    complete_user,
    fold_groups,
    fold_users,
    group_from_graph,
    is_group,
    is_user,
    user_from_graph,
)
from roster.fetcher.core.snapshot import GroupMembers, SnapshotItem
from roster.shared.config import DirectorySettings
from roster.shared.errors import ConfigurationError, NotFoundError, TransientError
from roster.shared.messages.directory import IdpGroup, IdpUser

log = structlog.get_logger()
GROUPS_AHEAD = 4
"""Groups whose members are read at once."""


class EntraConnector:
    kind = "entra"

    def __init__(
        self,
        directory: DirectorySettings,
        http: httpx.AsyncClient,
        hooks: ConnectorHooks | None = None,
    ) -> None:
        if directory.entra is None:
            raise ConfigurationError(f"directories.{directory.id}.entra: section missing")
        self.directory = directory.id
        self.settings = directory.entra
        self.client = GraphClient(directory.id, directory.entra, http, hooks or ConnectorHooks())
        self._top = directory.entra.page_size
        self._transitive = directory.entra.membership == "transitive"

    # ------------------------------------------------------------------ full snapshot

    async def snapshot(self) -> AsyncIterator[SnapshotItem]:
        seen: set[str] = set()
        query: dict[str, str | int] = {"$select": USER_SELECT, "$top": self._top}
        async for batch, _ in self.client.pages("/users", query, kind="users"):
            for rep in batch:
                user = user_from_graph(rep)
                if user.subject not in seen:
                    seen.add(user.subject)
                    yield user
        groups: list[IdpGroup] = []
        query = {"$select": GROUP_SELECT, "$top": self._top}
        async for batch, _ in self.client.pages("/groups", query, kind="groups"):
            groups += [group_from_graph(rep) for rep in batch]
        unique = list({g.id: g for g in groups}.values())
        async for page in ordered_streams(unique, self._members, window=GROUPS_AHEAD):
            yield page

    async def _members(self, group: IdpGroup) -> AsyncIterator[GroupMembers]:
        relation = "transitiveMembers" if self._transitive else "members"
        path = f"/groups/{quote(group.id, safe='')}/{relation}"
        query: dict[str, str | int] = {"$select": "id", "$top": self._top}
        read = 0
        seen: set[str] = set()
        try:
            async for batch, body in self.client.pages(path, query, kind="members"):
                last = not body.get("@odata.nextLink")
                subjects = [str(r["id"]) for r in batch if is_user(r) and r.get("id")]
                fresh = tuple(s for s in subjects if s not in seen)
                seen.update(fresh)
                yield GroupMembers(group, fresh, last=last)
                read += 1
        except NotFoundError:
            if read:
                raise TransientError(
                    f"group {group.name} was deleted while its members were read; sync again"
                ) from None
            log.warning(
                "group vanished during snapshot", directory=self.directory, group_id=group.id
            )

    async def fetch_user(self, subject: str) -> IdpUser | None:
        path = f"/users/{quote(subject, safe='')}"
        try:
            rep = await self.client.get(path, {"$select": USER_SELECT}, kind="user")
        except NotFoundError:
            return None
        return user_from_graph(rep) if isinstance(rep, dict) else None

    async def check(self) -> None:
        """Token, then one user and one group: proves the credentials and both permissions."""
        probe: dict[str, str | int] = {"$select": "id", "$top": 1}
        await self.client.get("/users", probe, kind="users", attempts=1)
        await self.client.get("/groups", probe, kind="groups", attempts=1)

    # ------------------------------------------------------------------ incremental (delta)

    async def start_cursor(self) -> str:
        """`$deltatoken=latest`: deltaLinks meaning "now", without reading any data."""
        users = await self._latest("/users/delta", USER_SELECT, "users-delta")
        groups = await self._latest("/groups/delta", GROUP_DELTA_SELECT, "groups-delta")
        return DeltaCursor(users, groups).encode()

    async def _latest(self, path: str, select: str, kind: str) -> str:
        query: dict[str, str | int] = {"$select": select, "$deltatoken": "latest"}
        last: str | None = None
        async for _, body in self.client.pages(path, query, kind=kind):
            link = body.get("@odata.deltaLink")
            last = link if isinstance(link, str) else last
        if last is None:
            raise CursorExpired(f"Graph answered {path}?$deltatoken=latest without a deltaLink")
        return last

    async def _round(self, link: str, kind: str) -> tuple[list[JsonObject], str]:
        """Every object of one delta round (all nextLinks) and the round's deltaLink."""
        objects: list[JsonObject] = []
        delta_link: str | None = None
        async for batch, body in self.client.pages(link, {}, kind=kind):
            objects += batch
            found = body.get("@odata.deltaLink")
            delta_link = found if isinstance(found, str) else delta_link
        if delta_link is None:
            raise CursorExpired(f"Graph ended a {kind} round without a deltaLink")
        return objects, delta_link

    async def changes(self, cursor: str) -> ChangeSet:
        since = DeltaCursor.decode(cursor)
        user_objects, users_link = await self._round(since.users, "users-delta")
        group_objects, groups_link = await self._round(since.groups, "groups-delta")
        folded_users = fold_users(user_objects)
        folded_groups = fold_groups(group_objects)
        if self._transitive and (folded_groups.members or folded_groups.nested_changed):
            # members@delta lists direct members only: transitive membership cannot be
            # derived from it, so a membership change means a full snapshot
            raise CursorExpired(
                "membership changed and entra.membership is 'transitive': full sync needed"
            )
        gone = set(folded_users.removed)
        users: list[IdpUser] = []
        for subject, rep in folded_users.present.items():
            user = user_from_graph(rep) if complete_user(rep) else await self.fetch_user(subject)
            if user is None:
                gone.add(subject)
            else:
                users.append(user)
        changes = assemble(groups=folded_groups, users=users, gone_users=gone)
        return ChangeSet(tuple(changes), DeltaCursor(users_link, groups_link).encode())

    async def user_groups(self, subject: str) -> list[IdpGroup]:
        relation = "transitiveMemberOf" if self._transitive else "memberOf"
        path = f"/users/{quote(subject, safe='')}/{relation}"
        query: dict[str, str | int] = {"$select": GROUP_SELECT, "$top": self._top}
        groups: list[IdpGroup] = []
        try:
            async for batch, _ in self.client.pages(path, query, kind="member-of"):
                groups += [group_from_graph(rep) for rep in batch if is_group(rep)]
        except NotFoundError:
            return []
        return groups

    # ------------------------------------------------------------------ subscriptions

    async def create_subscription(self, body: dict[str, Any]) -> JsonObject:
        created = await self.client.request(
            "POST", "/subscriptions", kind="subscriptions", json=body, attempts=2
        )
        if not isinstance(created, dict) or not isinstance(created.get("id"), str):
            raise TransientError("Graph answered POST /subscriptions without an id")
        return created

    async def renew_subscription(self, subscription_id: str, expiration: str) -> None:
        path = f"/subscriptions/{quote(subscription_id, safe='')}"
        body = {"expirationDateTime": expiration}
        await self.client.request(
            "PATCH", path, kind="subscriptions", json=body, label="/subscriptions/{id}"
        )

    async def reauthorize_subscription(self, subscription_id: str) -> None:
        path = f"/subscriptions/{quote(subscription_id, safe='')}/reauthorize"
        await self.client.request(
            "POST", path, kind="subscriptions", label="/subscriptions/{id}/reauthorize"
        )
