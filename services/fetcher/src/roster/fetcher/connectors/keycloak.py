"""Keycloak connector: a full snapshot from the Admin REST API (idp-apis.md §5).

Users from `/users` (full representation, offset paging); top-level groups from `/groups`,
subgroups from `/groups/{id}/children` (or the `subGroups` tree older servers send), members
from `/groups/{id}/members` (brief). Read-only; the transport lives in `keycloak_client`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import structlog

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.connectors.keycloak_client import KeycloakClient
from roster.fetcher.connectors.streams import ordered_streams
from roster.fetcher.core.keycloak import (
    JsonObject,
    group_from_rep,
    is_service_account,
    listed_children,
    member_subject,
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
