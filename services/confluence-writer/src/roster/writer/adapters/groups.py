"""Confluence groups and memberships — REST on 8.2+, JSON-RPC before; reads always REST.

Membership paths are user first (`/rest/api/user/{u}/group/{g}`, reference §1.4) and both
writes are idempotent on the server. Names are URL-encoded in paths. What a 404 or 409 means
for a command is decided by the executor, not here.
"""

from __future__ import annotations

from urllib.parse import quote

from roster.shared.errors import NotFoundError
from roster.writer.adapters.http import ConfluenceHttp
from roster.writer.adapters.rpc import RpcClient
from roster.writer.adapters.wire import CreateGroupRequest, GroupRef, Person
from roster.writer.core.version import Capabilities

GROUP = "/rest/api/group"
ADMIN_GROUP = "/rest/api/admin/group"
MEMBER_OF = "/rest/api/user/memberof"


def _q(name: str) -> str:
    return quote(name, safe="")


class GroupApi:
    def __init__(self, http: ConfluenceHttp, rpc: RpcClient, caps: Capabilities) -> None:
        self._http = http
        self._rpc = rpc
        self._caps = caps

    # -- reads -----------------------------------------------------------------------------

    async def exists(self, name: str) -> bool:
        try:
            await self._http.get_json(f"{GROUP}/{_q(name)}")
        except NotFoundError:
            return False
        return True

    async def list_all(self) -> list[str]:
        names: list[str] = []
        async for page in self._http.pages(GROUP):
            names.extend(GroupRef.model_validate(g).name for g in page)
        return names

    async def members(self, name: str) -> list[Person] | None:
        """Members with their status, or None when the group does not exist."""
        people: list[Person] = []
        try:
            async for page in self._http.pages(f"{GROUP}/{_q(name)}/member", {"expand": "status"}):
                people.extend(Person.model_validate(p) for p in page)
        except NotFoundError:
            return None
        return people

    async def groups_of(self, username: str) -> list[str] | None:
        """The user's groups, or None when the user does not exist."""
        names: list[str] = []
        try:
            async for page in self._http.pages(MEMBER_OF, {"username": username}):
                names.extend(GroupRef.model_validate(g).name for g in page)
        except NotFoundError:
            return None
        return names

    async def is_member(self, username: str, group: str) -> bool:
        found = await self.groups_of(username)
        return found is not None and group.lower() in {g.lower() for g in found}

    # -- writes ----------------------------------------------------------------------------

    async def create(self, name: str) -> None:
        """Raises ConflictError when the group exists."""
        if self._caps.rest_admin:
            body = CreateGroupRequest(name=name, type="group")
            await self._http.request("POST", ADMIN_GROUP, json=body.wire())
            return
        await self._rpc.call("addGroup", name)

    async def delete(self, name: str) -> None:
        if self._caps.rest_admin:
            await self._http.request("DELETE", f"{ADMIN_GROUP}/{_q(name)}")
            return
        await self._rpc.call("removeGroup", name, None)

    async def add_member(self, username: str, group: str) -> None:
        if self._caps.rest_admin:
            await self._http.request("PUT", f"/rest/api/user/{_q(username)}/group/{_q(group)}")
            return
        await self._rpc.call("addUserToGroup", username, group)

    async def remove_member(self, username: str, group: str) -> None:
        if self._caps.rest_admin:
            await self._http.request("DELETE", f"/rest/api/user/{_q(username)}/group/{_q(group)}")
            return
        await self._rpc.call("removeUserFromGroup", username, group)
