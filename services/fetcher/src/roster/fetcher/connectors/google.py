"""Google Workspace connector: full snapshot and deltas from the Admin SDK (idp-apis.md §3).

Snapshot: users, groups, each group's USER members (derived ones when configured). Deltas:
no "changed since" filter exists, so `changes` reads the admin audit log (Reports API) since
the cursor and re-reads what each event names, plus users announced by `users.watch` pushes.
Details: docs/connectors/google.md."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
import structlog

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.connectors.google_client import GoogleClient
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
from roster.fetcher.core.google import (
    AdminEvent,
    ReportCursor,
    admin_events,
    advance,
    format_time,
    group_from_rep,
    member_group,
    member_user,
    unseen_in_order,
    user_from_rep,
)
from roster.fetcher.core.snapshot import GroupMembers, SnapshotItem
from roster.shared.config import DirectorySettings
from roster.shared.errors import ConfigurationError, NotFoundError, RejectedError, TransientError
from roster.shared.messages.directory import IdpGroup, IdpUser

log = structlog.get_logger()
DIRECTORY = "/admin/directory/v1"
ACTIVITIES = "/admin/reports/v1/activity/users/all/applications/admin"
REQUESTS_AHEAD = 4
"""Groups whose members are read at the same time."""
REPORT_OVERLAP_SECONDS = 600.0
"""Each delta re-reads this much audit log before its watermark: the Reports API can list an
activity minutes after it happened; ids in the cursor keep re-read activities from repeating."""
MEMBERSHIP_EVENTS = {"ADD_GROUP_MEMBER": True, "REMOVE_GROUP_MEMBER": False}
GROUP_GONE_EVENTS = frozenset({"DELETE_GROUP"})
USER_GONE_EVENTS = frozenset({"DELETE_USER"})


@dataclass
class _Known:
    """What the connector learnt of the directory (e-mail → id, nesting) from its reads."""

    users: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    parents: dict[str, set[str]] = field(default_factory=dict)
    """Group id → ids of the groups it is a member of."""


class GoogleConnector:
    kind = "google"

    def __init__(
        self,
        directory: DirectorySettings,
        http: httpx.AsyncClient,
        hooks: ConnectorHooks | None = None,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if directory.google is None:
            raise ConfigurationError(f"directories.{directory.id}.google: section missing")
        self.directory = directory.id
        self.settings = directory.google
        self.client = GoogleClient(
            directory.id,
            directory.google,
            http,
            hooks or ConnectorHooks(),
            wall_clock=wall_clock,
        )
        self._now = wall_clock
        self._known = _Known()
        self._pushed: dict[str, str] = {}
        """User id → last pushed resource state, waiting for the next `changes`."""

    # ---- where lists are read from --------------------------------------------------------

    def _mine(self, email: str) -> bool:
        """Whether an address is in the configured domain (always, for a whole customer)."""
        domain = self.settings.domain
        return domain is None or email.endswith("@" + domain.lower())

    def list_scope(self) -> dict[str, str | int]:
        """`customer` or `domain`: what every list (and watch) call names."""
        if self.settings.domain:
            return {"domain": self.settings.domain}
        return {"customer": self.settings.customer}

    # ---- full snapshot ---------------------------------------------------------------------

    async def snapshot(self) -> AsyncIterator[SnapshotItem]:
        known = _Known()
        async for user in self._users():
            known.users[user.email or ""] = user.subject
            yield user
        groups = [g async for g in self._groups()]
        for group in groups:
            known.groups[(group.path or "").lower()] = group.id

        async def members(group: IdpGroup) -> AsyncIterator[GroupMembers]:
            async for page in self._members(group, known):
                yield page

        async for page in ordered_streams(groups, members, window=REQUESTS_AHEAD):
            yield page
        self._known = known

    async def _users(self) -> AsyncIterator[IdpUser]:
        params = {
            **self.list_scope(),
            "projection": "full",
            "maxResults": self.settings.users_page_size,
        }
        seen: set[str] = set()
        async for page in self.client.pages(
            f"{DIRECTORY}/users", params, key="users", kind="users"
        ):
            for rep in page:
                user = user_from_rep(rep, login_attribute=self.settings.login_attribute)
                if user.subject not in seen:
                    seen.add(user.subject)
                    yield user

    async def _groups(self) -> AsyncIterator[IdpGroup]:
        params = {**self.list_scope(), "maxResults": self.settings.groups_page_size}
        seen: set[str] = set()
        pages = self.client.pages(f"{DIRECTORY}/groups", params, key="groups", kind="groups")
        async for page in pages:
            for rep in page:
                group = group_from_rep(rep)
                if group.id not in seen:
                    seen.add(group.id)
                    yield group

    async def _members(self, group: IdpGroup, known: _Known) -> AsyncIterator[GroupMembers]:
        path = f"{DIRECTORY}/groups/{quote(group.id, safe='')}/members"
        params: dict[str, str | int] = {"maxResults": self.settings.members_page_size}
        if self.settings.include_derived_membership:
            params["includeDerivedMembership"] = "true"
        pending: GroupMembers | None = None
        try:
            async for page in self.client.pages(path, params, key="members", kind="members"):
                if pending is not None:
                    yield pending
                users = []
                for rep in page:
                    child = member_group(rep)
                    if child is not None:
                        known.parents.setdefault(child, set()).add(group.id)
                    elif (uid := member_user(rep)) is not None:
                        users.append(uid)
                pending = GroupMembers(group, tuple(users), last=False)
        except NotFoundError:
            if pending is not None:
                raise TransientError(
                    f"group {group.path} was deleted while its members were read; sync again"
                ) from None
            log.warning(
                "group vanished during snapshot", directory=self.directory, group_id=group.id
            )
            return
        yield GroupMembers(group, pending.members if pending else (), last=True)

    # ---- single reads ----------------------------------------------------------------------

    async def fetch_user(self, subject: str) -> IdpUser | None:
        return await self._user_rep(subject)

    async def _user_rep(self, key: str) -> IdpUser | None:
        try:
            rep = await self.client.get(
                f"{DIRECTORY}/users/{quote(key, safe='@')}", {"projection": "full"}, kind="user"
            )
        except NotFoundError:
            return None
        if not isinstance(rep, dict):
            return None
        user = user_from_rep(rep, login_attribute=self.settings.login_attribute)
        self._known.users[user.email or ""] = user.subject
        return user

    async def _group_rep(self, key: str) -> IdpGroup | None:
        try:
            rep = await self.client.get(
                f"{DIRECTORY}/groups/{quote(key, safe='@')}", {}, kind="group"
            )
        except NotFoundError:
            return None
        if not isinstance(rep, dict):
            return None
        group = group_from_rep(rep)
        self._known.groups[(group.path or "").lower()] = group.id
        return group

    async def user_groups(self, subject: str) -> list[IdpGroup]:
        params: dict[str, str | int] = {
            "userKey": subject,
            "maxResults": self.settings.groups_page_size,
        }
        pages = self.client.pages(f"{DIRECTORY}/groups", params, key="groups", kind="groups")
        direct = [group_from_rep(rep) async for page in pages for rep in page]
        if not self.settings.include_derived_membership:
            return direct
        # derived: the groups that contain those, as the last snapshot saw the nesting
        found = {g.id: g for g in direct}
        stack = [g.id for g in direct]
        while stack:
            for parent in self._known.parents.get(stack.pop(), ()):
                if parent not in found and (group := await self._group_rep(parent)) is not None:
                    found[parent] = group
                    stack.append(parent)
        return list(found.values())

    async def check(self) -> None:
        """Token, one user, one group and the audit log: every scope delegation must grant."""
        probe = {**self.list_scope(), "maxResults": 1}
        await self.client.get(f"{DIRECTORY}/users", probe, kind="users", attempts=1)
        await self.client.get(f"{DIRECTORY}/groups", probe, kind="groups", attempts=1)
        await self.client.get(ACTIVITIES, {"maxResults": 1}, kind="activities", attempts=1)

    # ---- deltas ----------------------------------------------------------------------------

    def note_user_change(self, user_id: str, state: str) -> None:
        """A `users.watch` push named this user: re-read it in the next `changes`."""
        self._pushed[user_id] = state

    async def start_cursor(self) -> str:
        return ReportCursor(watermark=self._now()).encode()

    async def changes(self, cursor: str) -> ChangeSet:
        current = ReportCursor.decode(cursor)
        pushed, self._pushed = self._pushed, {}
        try:
            events = unseen_in_order(await self._activities(current), current)
            out = await self._apply(events, pushed)
        except BaseException:
            self._pushed = {**pushed, **self._pushed}  # not consumed: keep for the next try
            raise
        following = advance(current, events, overlap=REPORT_OVERLAP_SECONDS)
        return ChangeSet(changes=tuple(out), cursor=following.encode())

    async def _activities(self, cursor: ReportCursor) -> list[AdminEvent]:
        params: dict[str, str | int] = {
            "startTime": format_time(cursor.start_time(REPORT_OVERLAP_SECONDS)),
            "maxResults": self.settings.reports_page_size,
        }
        try:
            pages = self.client.pages(ACTIVITIES, params, key="items", kind="activities")
            items = [item async for page in pages for item in page]
        except RejectedError as exc:
            if exc.status == 400:  # start time outside the audit log's retention
                raise CursorExpired(f"Google refused the delta cursor's start time: {exc}") from exc
            raise
        return admin_events(items)

    async def _apply(self, events: list[AdminEvent], pushed: dict[str, str]) -> list[Change]:
        out: list[Change] = []
        users_done: set[str] = set()
        for user_id, state in pushed.items():
            user = await self._user_rep(user_id)
            if user is not None:
                out.append(UserUpserted(user))
                users_done.add(user.subject)
            elif state == "delete":
                out.append(UserDeleted(user_id))
        for event in events:
            if event.type == "USER_SETTINGS":
                await self._user_event(event, out, users_done)
            elif event.type == "GROUP_SETTINGS":
                await self._group_event(event, out)
        return out

    async def _user_event(self, event: AdminEvent, out: list[Change], done: set[str]) -> None:
        email = (event.parameters.get("USER_EMAIL") or "").lower()
        renamed = (event.parameters.get("NEW_VALUE") or "").lower()
        if not email or not (self._mine(email) or (renamed and self._mine(renamed))):
            return
        if event.name in USER_GONE_EVENTS:
            subject = self._known.users.pop(email, None) or await self._deleted_user_id(email)
            if subject is not None:
                out.append(UserDeleted(subject))
                done.discard(subject)
            return
        key = (event.parameters.get("NEW_VALUE") or email) if event.name == "RENAME_USER" else email
        user = await self._user_rep(key.lower())
        if user is not None and user.subject not in done:
            out.append(UserUpserted(user))
            done.add(user.subject)

    async def _deleted_user_id(self, email: str) -> str | None:
        """The id of a user deleted before this connector saw it (deleted users are listed
        for 20 days with `showDeleted=true`)."""
        params = {
            **self.list_scope(),
            "showDeleted": "true",
            "maxResults": self.settings.users_page_size,
        }
        pages = self.client.pages(f"{DIRECTORY}/users", params, key="users", kind="users")
        async for page in pages:
            for rep in page:
                if str(rep.get("primaryEmail", "")).lower() == email:
                    return str(rep.get("id"))
        return None

    async def _group_event(self, event: AdminEvent, out: list[Change]) -> None:
        group_email = (event.parameters.get("GROUP_EMAIL") or "").lower()
        if not group_email or not self._mine(group_email):
            return
        if event.name in GROUP_GONE_EVENTS:
            group_id = self._known.groups.pop(group_email, None)
            if group_id is None:
                raise CursorExpired(f"group {group_email} was deleted before it was ever read")
            out.append(GroupDeleted(group_id))
            return
        if event.name in MEMBERSHIP_EVENTS:
            await self._membership(event, group_email, out, added=MEMBERSHIP_EVENTS[event.name])
            return
        group = await self._group_rep(group_email)
        if group is not None:
            out.append(GroupUpserted(group))

    async def _membership(
        self, event: AdminEvent, group_email: str, out: list[Change], *, added: bool
    ) -> None:
        member_email = (event.parameters.get("USER_EMAIL") or "").lower()
        group_id = self._known.groups.get(group_email)
        if group_id is None:
            group = await self._group_rep(group_email)
            if group is None:
                return  # deleted since: its DELETE_GROUP follows
            out.append(GroupUpserted(group))
            group_id = group.id
        derived = self.settings.include_derived_membership
        if derived and self._known.parents.get(group_id):
            raise CursorExpired(
                f"membership of nested group {group_email} changed: derived members of the "
                "groups containing it need a full read"
            )
        subject = self._known.users.get(member_email)
        if subject is None:
            user = await self._user_rep(member_email)
            subject = user.subject if user is not None else None
        if subject is None:
            nested = self._known.groups.get(member_email)
            if nested is None and (g := await self._group_rep(member_email)) is not None:
                nested = g.id
            if nested is not None:
                self._nest(nested, group_id, added=added)
                if derived:
                    raise CursorExpired(f"group {member_email} nested in {group_email} changed")
            return  # a member that is not a user of this customer: not mirrored
        out.append(MemberAdded(group_id, subject) if added else MemberRemoved(group_id, subject))

    def _nest(self, child: str, parent: str, *, added: bool) -> None:
        parents = self._known.parents.setdefault(child, set())
        if added:
            parents.add(parent)
        else:
            parents.discard(parent)
