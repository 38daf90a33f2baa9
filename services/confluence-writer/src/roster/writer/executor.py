"""Executes one write command against Confluence and returns the one result it gets.

A replay (id already done) is a no-op; an id still marked in flight means a predecessor stopped
mid-write, so Confluence is read first and written only if needed. Confluence's answers become
results here (409 on create → adopt, 402 → no seat, 404 on a membership → create the group or
wait for the user); only infrastructure failures (Redis) escape. It publishes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass

import structlog

from roster.shared.delivery import RetryPolicy
from roster.shared.errors import (
    ConflictError,
    NotFoundError,
    PermanentError,
    RejectedError,
    TransientError,
)
from roster.shared.messages.commands import (
    AddMembership,
    CreateGroup,
    CreateUser,
    DeactivateUser,
    DeleteGroup,
    DeleteUser,
    ReactivateUser,
    RemoveMembership,
    UpdateUser,
    WriteCommand,
)
from roster.shared.messages.results import CommandFailed, CommandSucceeded
from roster.writer.adapters.clock import Clock
from roster.writer.adapters.confluence import ConfluenceClient
from roster.writer.adapters.http import DryRunError
from roster.writer.adapters.ledger import Ledger
from roster.writer.core.desired import (
    MissingSide,
    Observation,
    Read,
    holds,
    missing_side,
    profile_differs,
    reads_for,
)
from roster.writer.core.results import (
    ADOPTED,
    LICENCE_FULL,
    RECOVERED,
    REPLAY,
    failed,
    succeeded,
)
from roster.writer.metrics import WriterMetrics
from roster.writer.settings import WriterOptions

log = structlog.get_logger()

Result = CommandSucceeded | CommandFailed


class UserMissingError(TransientError):
    """A membership write found its user missing: retry later, never drop the command."""


@dataclass(frozen=True)
class Applied:
    noop: bool = False
    detail: str = ""
    user_key: str | None = None


class CommandExecutor:
    def __init__(
        self,
        client: ConfluenceClient,
        ledger: Ledger,
        *,
        options: WriterOptions,
        clock: Clock,
        metrics: WriterMetrics,
    ) -> None:
        self._client = client
        self._ledger = ledger
        self._options = options
        self._clock = clock
        self._metrics = metrics
        self._policy = RetryPolicy(
            max_attempts=options.max_attempts,
            base_delay=options.backoff_base_seconds,
            max_delay=options.backoff_max_seconds,
        )

    async def execute(self, command: WriteCommand, *, budget: float | None = None) -> Result:
        """Run `command`; `budget` (seconds) caps it below `command_timeout_seconds`."""
        bound = log.bind(
            command_id=command.command_id, operation=command.type, run_id=command.run_id
        )
        previous = await self._ledger.done(command.command_id)
        if previous is not None:
            self._metrics.command(command.type, "replay")
            bound.info("command replayed", outcome="replay")
            return succeeded(command, noop=True, detail=REPLAY, user_key=previous.user_key)
        recover = not await self._ledger.begin(command.command_id)
        limit = self._options.command_timeout_seconds
        limit = limit if budget is None else max(0.0, min(limit, budget))
        try:
            async with asyncio.timeout(limit):
                result = await self._run(command, recover=recover)
        except TimeoutError:
            error = f"gave up after {limit:g} s (Confluence slow or rate limited)"
            result = failed(command, error=error, permanent=False)
        if isinstance(result, CommandSucceeded):
            await self._ledger.finish(result)
            outcome = "replay" if result.detail == REPLAY else self._outcome(result)
        else:
            if result.permanent:
                await self._ledger.abandon(command.command_id)
            outcome = "failed_permanent" if result.permanent else "failed_transient"
        self._metrics.command(command.type, outcome)
        extra = {"error": result.error} if isinstance(result, CommandFailed) else {}
        if isinstance(result, CommandSucceeded) and result.detail:
            extra["detail"] = result.detail
        bound.info("command executed", outcome=outcome, recovering=recover, **extra)
        return result

    def defer(self, command: WriteCommand, *, why: str) -> CommandFailed:
        """The result of a command the writer had no time left for (not executed)."""
        self._metrics.command(command.type, "deferred")
        log.warning("command deferred", command_id=command.command_id, reason=why)
        return failed(command, error=f"not executed: {why}", permanent=False)

    @staticmethod
    def _outcome(result: CommandSucceeded) -> str:
        if result.detail == RECOVERED:
            return "recovered"
        return "noop" if result.noop else "applied"

    async def _run(self, command: WriteCommand, *, recover: bool) -> Result:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._client.ready()
                done = await self._apply(command, recover=recover)
                return succeeded(
                    command, noop=done.noop, detail=done.detail, user_key=done.user_key
                )
            except DryRunError as exc:
                return failed(command, error=str(exc), permanent=True)
            except PermanentError as exc:
                return failed(command, error=str(exc), permanent=True, status=exc.status)
            except UserMissingError as exc:
                if attempt >= self._options.max_attempts:
                    return failed(command, error=str(exc), permanent=False, status=exc.status)
                recover = True
                await self._clock.sleep(self._policy.delay(attempt, exc.retry_after))
            except TransientError as exc:
                return failed(command, error=str(exc), permanent=False, status=exc.status)
            except ValueError as exc:  # a response of an unexpected shape
                error = f"unexpected Confluence response: {exc}"
                return failed(command, error=error[:500], permanent=False)

    async def _apply(self, command: WriteCommand, *, recover: bool) -> Applied:
        if recover:
            seen = await self._observe(command)
            if holds(command, seen):
                key = seen.user.user_key if seen.user is not None else None
                return Applied(detail=RECOVERED, user_key=key)
            if isinstance(command, CreateUser) and seen.user is not None:
                return await self._adopt(command)
        return await self._write(command)

    async def _observe(self, command: WriteCommand) -> Observation:
        needed = reads_for(command)
        users, groups = self._client.users, self._client.groups
        if Read.MEMBERSHIP in needed:
            assert isinstance(command, AddMembership | RemoveMembership)
            return Observation(member=await groups.is_member(command.username, command.group))
        if Read.GROUP in needed:
            assert isinstance(command, CreateGroup | DeleteGroup)
            return Observation(group_exists=await groups.exists(command.group))
        assert not isinstance(command, CreateGroup | DeleteGroup)
        with_email = isinstance(command, CreateUser | UpdateUser)
        return Observation(user=await users.get(command.username, with_email=with_email))

    async def _write(self, command: WriteCommand) -> Applied:
        users, groups = self._client.users, self._client.groups
        match command:
            case CreateUser():
                return await self._create_user(command)
            case UpdateUser():
                await users.update(
                    command.username, display_name=command.display_name, email=command.email
                )
                return Applied()
            case DeactivateUser():
                return await self._unless_missing(users.set_active(command.username, False))
            case ReactivateUser():
                await users.set_active(command.username, True)
                return Applied()
            case DeleteUser():
                return await self._unless_missing(users.delete(command.username))
            case CreateGroup():
                try:
                    await groups.create(command.group)
                except ConflictError:
                    return Applied(noop=True, detail="group exists")
                return Applied()
            case DeleteGroup():
                return await self._unless_missing(groups.delete(command.group))
            case AddMembership():
                return await self._add_membership(command)
            case RemoveMembership():
                return await self._unless_missing(
                    groups.remove_member(command.username, command.group)
                )
        raise TypeError(f"not a write command: {type(command).__name__}")

    @staticmethod
    async def _unless_missing(write: Awaitable[None]) -> Applied:
        """Run a removal; a 404 means the desired state (gone) already holds."""
        try:
            await write
        except NotFoundError:
            return Applied(noop=True, detail="not found")
        return Applied()

    async def _create_user(self, command: CreateUser) -> Applied:
        try:
            key = await self._client.users.create(
                command.username, display_name=command.display_name, email=command.email
            )
        except ConflictError:
            return await self._adopt(command)
        except RejectedError as exc:
            if exc.status == 402:
                raise PermanentError(LICENCE_FULL, status=402) from exc
            raise
        return Applied(user_key=key)

    async def _adopt(self, command: CreateUser) -> Applied:
        """The user exists (409): take it over and bring its profile in line."""
        users = self._client.users
        found = await users.get(command.username)
        if found is None:
            raise PermanentError(f"Confluence reports {command.username} exists but cannot read it")
        if profile_differs(found, display_name=command.display_name, email=command.email):
            await users.update(
                command.username, display_name=command.display_name, email=command.email
            )
        return Applied(detail=ADOPTED, user_key=found.user_key)

    async def _add_membership(self, command: AddMembership) -> Applied:
        users, groups = self._client.users, self._client.groups
        created = False
        for _ in range(3):
            try:
                await groups.add_member(command.username, command.group)
            except NotFoundError:
                side = missing_side(
                    group_exists=await groups.exists(command.group),
                    user_exists=await users.person(command.username) is not None,
                )
                if side is MissingSide.USER:
                    raise UserMissingError(
                        f"user {command.username} does not exist (yet)", status=404
                    ) from None
                if side is MissingSide.GROUP:
                    with contextlib.suppress(ConflictError):
                        await groups.create(command.group)
                    created = True
                continue
            return Applied(detail="group created" if created else "")
        raise TransientError(f"adding {command.username} to {command.group} kept answering 404")
