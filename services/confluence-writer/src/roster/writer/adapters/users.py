"""Confluence users: read, create, update, disable / enable, delete — REST or JSON-RPC by version.

Reads are REST (`GET /rest/api/user?expand=status`, `/rest/api/user/list` on 8.4+) except the
email, which only JSON-RPC `getUserByName` returns. Writes take the REST endpoint where the
server's version has it and the RPC method otherwise. Errors surface as the shared taxonomy;
deciding what a 404 or 409 means for a command is the executor's job, not this module's.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

import structlog

from roster.shared.errors import NotFoundError, PermanentError, TransientError
from roster.writer.adapters.clock import Clock
from roster.writer.adapters.http import ConfluenceHttp, DryRunError
from roster.writer.adapters.rpc import RpcClient
from roster.writer.adapters.wire import (
    CreatedUser,
    CreateUserRequest,
    LongTaskStatus,
    LongTaskSubmission,
    Person,
    RemoteUser,
    UpdateUserRequest,
)
from roster.writer.core.desired import ObservedUser
from roster.writer.core.version import Capabilities

log = structlog.get_logger()

USER = "/rest/api/user"
USER_LIST = "/rest/api/user/list"
ADMIN_USER = "/rest/api/admin/user"
LONG_TASK = "/rest/api/longtask/"


def _path(*parts: str) -> str:
    return "/".join(quote(p, safe="") if i else p for i, p in enumerate(parts))


def new_password() -> str:
    """A random password nobody will ever know (users sign in through SSO); never logged."""
    return secrets.token_urlsafe(32) + "aA1!"


def observed(person: Person, email: str | None) -> ObservedUser:
    return ObservedUser(
        username=person.username.lower(),
        user_key=person.user_key,
        display_name=person.display_name,
        email=email,
        active=person.active is not False,
    )


class UserApi:
    def __init__(
        self,
        http: ConfluenceHttp,
        rpc: RpcClient,
        caps: Capabilities,
        *,
        clock: Clock,
        poll_seconds: float,
        poll_timeout: float,
    ) -> None:
        self._http = http
        self._rpc = rpc
        self._caps = caps
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._poll_timeout = poll_timeout

    # -- reads -----------------------------------------------------------------------------

    async def person(self, username: str) -> Person | None:
        try:
            body = await self._http.get_json(USER, {"username": username, "expand": "status"})
        except NotFoundError:
            return None
        return Person.model_validate(body)

    async def email(self, username: str) -> str | None:
        """Through JSON-RPC (REST has no email); None when unknown or unreadable (user gone,
        dry run, remote API switched off or refused)."""
        try:
            found = await self._rpc.call("getUserByName", username)
        except PermanentError as exc:
            if not isinstance(exc, NotFoundError | DryRunError):
                log.warning("email not readable", username=username, error=str(exc))
            return None
        return RemoteUser.model_validate(found).email if isinstance(found, dict) else None

    async def get(self, username: str, *, with_email: bool = True) -> ObservedUser | None:
        person = await self.person(username)
        if person is None:
            return None
        email = await self.email(username) if with_email else None
        return observed(person, email)

    async def list_all(self) -> list[Person]:
        """Every user the server knows, deactivated included (8.4+ only)."""
        people: list[Person] = []
        async for page in self._http.pages(USER_LIST, {"expand": "status"}):
            people.extend(Person.model_validate(p) for p in page)
        return people

    # -- writes ----------------------------------------------------------------------------

    async def create(self, username: str, *, display_name: str, email: str) -> str | None:
        """Create an active user; returns its user key. Raises ConflictError when it exists."""
        password = new_password()
        if self._caps.rest_create_user:
            body = CreateUserRequest(
                user_name=username,
                full_name=display_name,
                email=email,
                password=password,
                notify_via_email=False,
            )
            response = await self._http.request("POST", ADMIN_USER, json=body.wire())
            return CreatedUser.model_validate(response.json()).user_key
        remote = RemoteUser(name=username, fullname=display_name, email=email)
        await self._rpc.call("addUser", remote.wire(), password, False)
        person = await self.person(username)
        return person.user_key if person is not None else None

    async def update(self, username: str, *, display_name: str, email: str) -> None:
        if self._caps.rest_update_user:
            body = UpdateUserRequest(full_name=display_name, email=email)
            await self._http.request("PUT", _path(ADMIN_USER, username), json=body.wire())
            return
        remote = RemoteUser(name=username, fullname=display_name, email=email)
        await self._rpc.call("editUser", remote.wire())

    async def set_active(self, username: str, active: bool) -> None:
        if self._caps.rest_admin:
            action = "enable" if active else "disable"
            await self._http.request("PUT", _path(ADMIN_USER, username, action))
            return
        await self._rpc.call("reactivateUser" if active else "deactivateUser", username)

    async def delete(self, username: str) -> None:
        """Delete and, on REST, wait for the long task to finish."""
        if not self._caps.rest_admin:
            await self._rpc.call("removeUser", username)
            return
        response = await self._http.request("DELETE", _path(ADMIN_USER, username))
        if not response.content:  # no long task to wait for
            return
        task = LongTaskSubmission.model_validate(response.json())
        await self._wait_for(task.id, username)

    async def _wait_for(self, task_id: str, username: str) -> None:
        waited = 0.0
        while True:
            body = await self._http.get_json(_path(LONG_TASK.rstrip("/"), task_id))
            status = LongTaskStatus.model_validate(body)
            if status.finished:
                if not status.successful:
                    raise PermanentError(f"deleting {username} failed: {status.text()}")
                return
            if waited >= self._poll_timeout:
                raise TransientError(f"deleting {username} still running after {waited:.0f} s")
            await self._clock.sleep(self._poll_seconds)
            waited += self._poll_seconds
