"""Answers `ReadConfluenceState`: reads Confluence's users, groups and managed members.

8.4+ lists every user (`/rest/api/user/list?expand=status`); older servers are asked for the
requested usernames one by one plus everyone in the requested groups. Emails come through
JSON-RPC (REST never returns them), as `read_emails` allows. The result is cut into pages by
`core.pages`; a failure becomes a completion marker with `error`. It reads, never writes.
"""

from __future__ import annotations

import asyncio

import structlog

from roster.shared.errors import RosterError
from roster.shared.messages.commands import ReadConfluenceState
from roster.shared.messages.state import (
    ConfluenceStateCompleted,
    ConfluenceStatePage,
    ConfluenceUser,
)
from roster.writer.adapters.confluence import ConfluenceClient
from roster.writer.adapters.wire import Person
from roster.writer.core.pages import completed, paginate
from roster.writer.metrics import WriterMetrics
from roster.writer.settings import WriterOptions

log = structlog.get_logger()

Snapshot = tuple[list[ConfluenceStatePage], ConfluenceStateCompleted]


class StateReader:
    def __init__(
        self, client: ConfluenceClient, *, options: WriterOptions, metrics: WriterMetrics
    ) -> None:
        self._client = client
        self._options = options
        self._metrics = metrics

    async def read(self, command: ReadConfluenceState, *, budget: float | None = None) -> Snapshot:
        """Read a snapshot; `budget` (seconds) caps it below `read_timeout_seconds`."""
        limit = self._options.read_timeout_seconds
        limit = limit if budget is None else max(0.0, min(limit, budget))
        try:
            async with asyncio.timeout(limit):
                snapshot = await self._read(command)
        except (RosterError, ValueError, TimeoutError) as exc:
            error = str(exc) or f"gave up after {limit:g} s"
            self._metrics.command(command.type, "read_failed")
            log.error("confluence state read failed", run_id=command.run_id, error=error)
            marker = completed(run_id=command.run_id, pages=0, users=0, groups=0, error=error)
            return [], marker
        self._metrics.command(command.type, "read")
        return snapshot

    async def _read(self, command: ReadConfluenceState) -> Snapshot:
        caps = await self._client.ready()
        users_api, groups_api = self._client.users, self._client.groups
        groups = await groups_api.list_all()
        people: dict[str, Person] = {}
        members: dict[str, list[str]] = {}
        for group in dict.fromkeys(command.groups):
            found = await groups_api.members(group)
            if found is None:
                continue  # not in Confluence (yet): no member list to report
            members[group] = [p.username.lower() for p in found]
            for person in found:
                people.setdefault(person.username.lower(), person)
        if caps.list_all_users:
            for person in await users_api.list_all():
                people[person.username.lower()] = person
        else:
            for username in dict.fromkeys(u.lower() for u in command.usernames):
                if username not in people:
                    found_person = await users_api.person(username)
                    if found_person is not None:
                        people[username] = found_person
        emails = await self._emails(people, command)
        users = [
            ConfluenceUser(
                username=name,
                user_key=p.user_key,
                display_name=p.display_name,
                email=emails.get(name),
                active=p.active is not False,
            )
            for name, p in sorted(people.items())
        ]
        pages = paginate(
            run_id=command.run_id,
            users=users,
            groups=groups,
            members=members,
            size=self._options.state_page_size,
        )
        log.info("confluence state read", run_id=command.run_id, users=len(users),
                 groups=len(groups), pages=len(pages))  # fmt: skip
        marker = completed(
            run_id=command.run_id, pages=len(pages), users=len(users), groups=len(groups)
        )
        return pages, marker

    async def _emails(
        self, people: dict[str, Person], command: ReadConfluenceState
    ) -> dict[str, str]:
        match self._options.read_emails:
            case "none":
                return {}
            case "requested":
                wanted = [u for u in dict.fromkeys(n.lower() for n in command.usernames)
                          if u in people]  # fmt: skip
            case _:
                wanted = list(people)
        gate = asyncio.Semaphore(self._options.concurrency)
        users_api = self._client.users

        async def one(username: str) -> tuple[str, str | None]:
            async with gate:
                return username, await users_api.email(username)

        try:
            async with asyncio.TaskGroup() as tasks:
                running = [tasks.create_task(one(u)) for u in wanted]
        except ExceptionGroup as group:  # the first failure stands for the read
            raise group.exceptions[0] from None
        found = (task.result() for task in running)
        return {name: email for name, email in found if email is not None}
