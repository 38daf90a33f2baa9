"""Okta connector: full snapshots and System Log deltas from the Management API (idp-apis.md §2).

Users (DEPROVISIONED ones too), groups of the configured types and their members; deltas poll
`/api/v1/logs` from the cursor and re-read the current state of every user, group and
membership the events name (docs/connectors/okta.md). Transport: `okta_client`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import structlog

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.connectors.okta_client import OktaClient, server_now
from roster.fetcher.connectors.streams import ordered_streams
from roster.fetcher.core.changes import (
    Change,
    ChangeSet,
    CursorExpired,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)
from roster.fetcher.core.okta import (
    JsonObject,
    LogCursor,
    Touched,
    after_cursor,
    group_from_object,
    group_type,
    log_event,
    log_filter,
    next_cursor,
    objects,
    touched,
    user_from_object,
)
from roster.fetcher.core.snapshot import GroupMembers, SnapshotItem
from roster.shared.config import DirectorySettings
from roster.shared.errors import ConfigurationError, NotFoundError, RejectedError, TransientError
from roster.shared.messages.directory import IdpGroup, IdpUser

log = structlog.get_logger()
GROUPS_AT_ONCE = 4
"""Groups whose members are read at the same time (Okta's concurrency limit is per org)."""


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class OktaConnector:
    kind = "okta"

    def __init__(
        self,
        directory: DirectorySettings,
        http: httpx.AsyncClient,
        hooks: ConnectorHooks | None = None,
    ) -> None:
        if directory.okta is None:
            raise ConfigurationError(f"directories.{directory.id}.okta: section missing")
        self.directory = directory.id
        self.settings = directory.okta
        self.client = OktaClient(directory.id, directory.okta, http, hooks or ConnectorHooks())
        self._types = frozenset(self.settings.group_types)

    # ------------------------------------------------------------------ full snapshot

    async def snapshot(self) -> AsyncIterator[SnapshotItem]:
        async for user in self._users():
            yield user
        groups = await self._groups()
        async for page in ordered_streams(groups, self._members, window=GROUPS_AT_ONCE):
            yield page

    async def _users(self) -> AsyncIterator[IdpUser]:
        seen: set[str] = set()
        size = self.settings.users_page_size
        queries: list[dict[str, str | int]] = [{"limit": size}]
        if self.settings.include_deprovisioned:
            queries.append({"limit": size, "filter": 'status eq "DEPROVISIONED"'})
        for query in queries:
            async for batch in self.client.pages("/api/v1/users", query, kind="users"):
                for obj in batch:
                    user = user_from_object(obj)
                    if user.subject not in seen:
                        seen.add(user.subject)
                        yield user

    async def _groups(self) -> list[IdpGroup]:
        query: dict[str, str | int] = {"limit": self.settings.groups_page_size}
        groups: list[IdpGroup] = []
        seen: set[str] = set()
        async for batch in self.client.pages("/api/v1/groups", query, kind="groups"):
            for obj in batch:
                if group_type(obj) in self._types:
                    group = group_from_object(obj)
                    if group.id not in seen:
                        seen.add(group.id)
                        groups.append(group)
        return groups

    async def _members(self, group: IdpGroup) -> AsyncIterator[GroupMembers]:
        path = f"/api/v1/groups/{quote(group.id, safe='')}/users"
        query: dict[str, str | int] = {"limit": self.settings.members_page_size}
        read = 0
        try:
            async for batch in self.client.pages(path, query, kind="members"):
                subjects = tuple(str(o.get("id")) for o in batch if o.get("id"))
                yield GroupMembers(group, subjects, last=False)
                read += len(batch)
        except NotFoundError:
            if read:
                raise TransientError(
                    f"group {group.name} was deleted while its members were read; sync again"
                ) from None
            log.warning(
                "group vanished during snapshot", directory=self.directory, group_id=group.id
            )
            return
        yield GroupMembers(group, (), last=True)

    # ------------------------------------------------------------------ single reads

    async def fetch_user(self, subject: str) -> IdpUser | None:
        try:
            obj = await self.client.get(f"/api/v1/users/{quote(subject, safe='')}", {}, kind="user")
        except NotFoundError:
            return None
        return user_from_object(obj) if isinstance(obj, dict) else None

    async def user_groups(self, subject: str) -> list[IdpGroup]:
        reps = await self._user_group_objects(subject)
        return [group_from_object(o) for o in reps or [] if group_type(o) in self._types]

    async def _user_group_objects(self, subject: str) -> list[JsonObject] | None:
        """The user's groups (all types), or None when the user does not exist."""
        path = f"/api/v1/users/{quote(subject, safe='')}/groups"
        try:
            return [o async for batch in self.client.pages(path, {}, kind="user") for o in batch]
        except NotFoundError:
            return None

    async def _group(self, group_id: str) -> JsonObject | None:
        try:
            obj = await self.client.get(
                f"/api/v1/groups/{quote(group_id, safe='')}", {}, kind="group"
            )
        except NotFoundError:
            return None
        return obj if isinstance(obj, dict) else None

    async def check(self) -> None:
        """Credentials, then one user, one group and one log event: proves all three reads."""
        probe: dict[str, str | int] = {"limit": 1}
        await self.client.get("/api/v1/users", probe, kind="users", attempts=1)
        await self.client.get("/api/v1/groups", probe, kind="groups", attempts=1)
        await self.client.get(
            "/api/v1/logs", {**probe, "sortOrder": "DESCENDING"}, kind="logs", attempts=1
        )

    # ------------------------------------------------------------------ incremental (System Log)

    async def start_cursor(self) -> str:
        """The newest relevant System Log event now, or the org's clock when there is none."""
        query: dict[str, str | int] = {
            "sortOrder": "DESCENDING",
            "limit": 1,
            "filter": log_filter(),
        }
        body, response = await self.client.get_response("/api/v1/logs", query, kind="logs")
        newest = objects(body, what="GET /api/v1/logs")
        if newest:
            event = log_event(newest[0])
            return LogCursor(event.published, frozenset({event.uuid})).encode()
        return LogCursor(_iso(server_now(response))).encode()

    async def changes(self, cursor: str) -> ChangeSet:
        since = LogCursor.decode(cursor)
        size = self.settings.logs_page_size
        query: dict[str, str | int] = {
            "since": since.since,
            "sortOrder": "ASCENDING",
            "limit": size,
            "filter": log_filter(),
        }
        try:
            pages = self.client.pages("/api/v1/logs", query, kind="logs", stop_short=size)
            events = [log_event(o) async for batch in pages for o in batch]
        except RejectedError as exc:
            if exc.status == 400:  # since outside the log's retention (or unreadable)
                raise CursorExpired(
                    f"Okta refused the System Log cursor {since.since}: {exc}"
                ) from exc
            raise
        fresh = after_cursor(events, since)
        result = await self._reread(touched(fresh))
        return ChangeSet(tuple(result), next_cursor(fresh, since).encode())

    async def _reread(self, what: Touched) -> list[Change]:
        """Current state of what the events name: groups, users, memberships, deletions."""
        changes: list[Change] = []
        types: dict[str, str] = {}
        gone_groups = set(what.deleted_groups)
        for group_id in what.groups:
            obj = await self._group(group_id)
            if obj is None:
                gone_groups.add(group_id)
                continue
            types[group_id] = group_type(obj)
            if types[group_id] in self._types:
                changes.append(GroupUpserted(group_from_object(obj)))
        gone_users = set(what.deleted_users)
        for subject in what.users:
            if subject in gone_users:
                continue
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
            objs = await self._user_group_objects(subject)
            if objs is None:
                gone_users.add(subject)
                continue
            current = {str(o.get("id")) for o in objs}
            types.update({str(o.get("id")): group_type(o) for o in objs})
            for group_id in group_ids:
                if group_id not in types:
                    obj = await self._group(group_id)
                    if obj is None:
                        gone_groups.add(group_id)
                        continue
                    types[group_id] = group_type(obj)
                if types[group_id] not in self._types:
                    continue
                change = MemberAdded if group_id in current else MemberRemoved
                changes.append(change(group_id, subject))
        changes += [GroupDeleted(g) for g in sorted(gone_groups)]
        changes += [UserDeleted(s) for s in sorted(gone_users)]
        return changes
