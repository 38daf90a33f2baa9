"""Keycloak connector: full snapshots and delta syncs from the Admin REST API (idp-apis.md §5).

Users from `/users`, groups from `/groups` and `/groups/{id}/children` (or `subGroups`),
members from `/groups/{id}/members`. Deltas read `/admin-events` since the cursor and re-read
every user, group and user's group list the events name. Transport: `keycloak_client`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import structlog

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.connectors.keycloak_client import KeycloakClient
from roster.fetcher.connectors.streams import ordered_streams
from roster.fetcher.core.changes import (
    Change,
    ChangeSet,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)
from roster.fetcher.core.keycloak import (
    EVENT_OPERATIONS,
    EVENT_RESOURCES,
    EventCursor,
    JsonObject,
    Touched,
    admin_event,
    after_cursor,
    group_from_rep,
    is_service_account,
    listed_children,
    member_subject,
    next_cursor,
    objects,
    touched,
    user_from_rep,
)
from roster.fetcher.core.snapshot import GroupMembers, SnapshotItem
from roster.shared.config import DirectorySettings
from roster.shared.errors import ConfigurationError, NotFoundError, TransientError
from roster.shared.messages.directory import IdpGroup, IdpUser

log = structlog.get_logger()
REQUESTS_AHEAD = 4
"""Requests in flight at once: user pages read ahead, or groups whose members are read."""
FULL: dict[str, str | int] = {"briefRepresentation": "false"}
BRIEF: dict[str, str | int] = {"briefRepresentation": "true"}


class KeycloakConnector:
    kind = "keycloak"

    def __init__(
        self,
        directory: DirectorySettings,
        http: httpx.AsyncClient,
        hooks: ConnectorHooks | None = None,
    ) -> None:
        if directory.keycloak is None:
            raise ConfigurationError(f"directories.{directory.id}.keycloak: section missing")
        self.directory = directory.id
        self.client = KeycloakClient(
            directory.id, directory.keycloak, http, hooks or ConnectorHooks()
        )

    async def snapshot(self) -> AsyncIterator[SnapshotItem]:
        async for user in self._users():
            yield user
        async for page in self._groups():
            yield page

    async def fetch_user(self, subject: str) -> IdpUser | None:
        try:
            rep = await self.client.get(f"/users/{quote(subject, safe='')}", {}, kind="user")
        except NotFoundError:
            return None
        if not isinstance(rep, dict) or is_service_account(rep):
            return None
        return user_from_rep(rep)

    # ------------------------------------------------------------ incremental (admin events)

    def _event_query(self, **extra: str | int) -> dict[str, str | int | list[str]]:
        return {
            "resourceTypes": list(EVENT_RESOURCES),
            "operationTypes": list(EVENT_OPERATIONS),
            **extra,
        }

    async def start_cursor(self) -> str:
        """The newest admin event now (Keycloak's default order is newest first)."""
        newest = objects(
            await self.client.get(
                "/admin-events", self._event_query(first=0, max=1), kind="events"
            ),
            what="GET /admin-events",
        )
        if not newest:
            return EventCursor().encode()
        event = admin_event(newest[0])
        return EventCursor(event.time, frozenset({event.id})).encode()

    async def changes(self, cursor: str) -> ChangeSet:
        since = EventCursor.decode(cursor)
        query = self._event_query(dateFrom=str(since.time), direction="asc")
        pages = self.client.pages("/admin-events", query, kind="events")
        events = [admin_event(rep) async for batch in pages for rep in batch]
        fresh = after_cursor(events, since)
        result = await self._reread(touched(fresh))
        return ChangeSet(tuple(result), next_cursor(fresh, since).encode())

    async def user_groups(self, subject: str) -> list[IdpGroup]:
        groups = await self._user_group_reps(subject)
        return [] if groups is None else [group_from_rep(rep, parent=None) for rep in groups]

    async def _user_group_reps(self, subject: str) -> list[JsonObject] | None:
        """The user's direct groups, or None when the user does not exist."""
        path = f"/users/{quote(subject, safe='')}/groups"
        try:
            pages = self.client.pages(path, BRIEF, kind="user-groups")
            return [rep async for batch in pages for rep in batch]
        except NotFoundError:
            return None

    async def _group(self, group_id: str) -> IdpGroup | None:
        try:
            rep = await self.client.get(f"/groups/{quote(group_id, safe='')}", {}, kind="group")
        except NotFoundError:
            return None
        if not isinstance(rep, dict):
            return None
        return group_from_rep(rep, parent=None)

    async def _reread(self, what: Touched) -> list[Change]:
        """Current state of everything the events touched: groups (parents first), users,
        memberships, then deletions."""
        upserted: list[IdpGroup] = []
        gone_groups = set(what.deleted_groups)
        for group_id in what.groups:
            group = await self._group(group_id)
            if group is None:
                gone_groups.add(group_id)
            else:
                upserted.append(group)
        upserted.sort(key=lambda g: (g.path or "").count("/"))
        changes: list[Change] = [GroupUpserted(g) for g in upserted]
        gone_users = set(what.deleted_users)
        for subject in what.users:
            user = await self.fetch_user(subject)
            if user is None:
                gone_users.add(subject)
            else:
                changes.append(UserUpserted(user))
        by_user: dict[str, list[str]] = {}
        for subject, group_id in what.memberships:
            if subject not in gone_users and group_id not in gone_groups:
                by_user.setdefault(subject, []).append(group_id)
        for subject, group_ids in by_user.items():
            reps = await self._user_group_reps(subject)
            if reps is None:
                gone_users.add(subject)
                continue
            current = {str(rep.get("id")) for rep in reps}
            for group_id in group_ids:
                change = MemberAdded if group_id in current else MemberRemoved
                changes.append(change(group_id, subject))
        changes += [GroupDeleted(g) for g in sorted(gone_groups)]
        changes += [UserDeleted(s) for s in sorted(gone_users)]
        return changes

    async def check(self) -> None:
        """Token, then one user and one group: proves credentials and both read roles."""
        probe: dict[str, str | int] = {**BRIEF, "first": 0, "max": 1}
        await self.client.get("/users", probe, kind="users", attempts=1)
        await self.client.get("/groups", probe, kind="groups", attempts=1)

    async def _users(self) -> AsyncIterator[IdpUser]:
        seen: set[str] = set()  # offset paging over a changing realm can repeat a user
        pages = self.client.pages("/users", FULL, kind="users", ahead=REQUESTS_AHEAD)
        async for batch in pages:
            for rep in batch:
                if is_service_account(rep):
                    continue
                user = user_from_rep(rep)
                if user.subject not in seen:
                    seen.add(user.subject)
                    yield user

    async def _groups(self) -> AsyncIterator[GroupMembers]:
        """The tree first (small), then members of a few groups at a time, in tree order."""
        tree = await self._tree()
        async for page in ordered_streams(tree, self._members, window=REQUESTS_AHEAD):
            yield page

    async def _tree(self) -> list[IdpGroup]:
        """Every group once, depth first, parents before children."""
        pages = self.client.pages("/groups", BRIEF, kind="groups")
        tops = [rep async for batch in pages for rep in batch]
        stack: list[tuple[JsonObject, IdpGroup | None]] = [(rep, None) for rep in reversed(tops)]
        seen: set[str] = set()
        tree: list[IdpGroup] = []
        while stack:
            rep, parent = stack.pop()
            group = group_from_rep(rep, parent=parent)
            if group.id in seen:
                continue
            seen.add(group.id)
            tree.append(group)
            children = await self._children(rep, group)
            stack.extend((child, group) for child in reversed(children))
        return tree

    async def _members(self, group: IdpGroup) -> AsyncIterator[GroupMembers]:
        path = f"/groups/{quote(group.id, safe='')}/members"
        read = 0
        try:
            async for batch in self.client.pages(path, BRIEF, kind="members"):
                short = len(batch) < self.client.page_size
                yield GroupMembers(group, tuple(member_subject(r) for r in batch), last=short)
                read += len(batch)
        except NotFoundError:
            if read:
                raise TransientError(
                    f"group {group.path} was deleted while its members were read; sync again"
                ) from None
            # deleted between listing and reading: not in the snapshot
            log.warning(
                "group vanished during snapshot", directory=self.directory, group_id=group.id
            )

    async def _children(self, rep: JsonObject, group: IdpGroup) -> list[JsonObject]:
        listed = listed_children(rep)
        if listed is not None:
            return listed
        path = f"/groups/{quote(group.id, safe='')}/children"
        try:
            pages = self.client.pages(path, BRIEF, kind="children")
            return [child async for batch in pages for child in batch]
        except NotFoundError:  # deleted since it was listed: its children went with it
            return []
