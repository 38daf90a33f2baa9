"""Confluence payloads as the wire has them: REST JSON (camelCase, `_links`) and JSON-RPC.

snake_case inside, aliases only here. Models accept unknown fields (a newer server may add
some) but the golden-sample tests check that every field Confluence sends today is declared.
These models describe shapes; they decide nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
        frozen=True,
    )

    def wire(self) -> dict[str, Any]:
        """The JSON object as sent: aliases, and only the fields that were set."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class Links(Wire):
    base: str | None = None
    context: str | None = None
    self_: str | None = Field(default=None, alias="self")
    next: str | None = None
    prev: str | None = None


class Page(Wire):
    """The paging envelope of every list endpoint (reference §1)."""

    results: list[dict[str, Any]]
    start: int = 0
    limit: int = 0
    size: int = 0
    total_count: int | None = None
    links: Links = Field(default_factory=Links, alias="_links")


class Person(Wire):
    """A REST user ("known" Person). Never has an email; `status` only with expand=status."""

    type: str = "known"
    username: str
    user_key: str | None = None
    display_name: str = ""
    profile_picture: dict[str, Any] | None = None
    status: str | None = None
    """`current` or `deactivated`."""
    links: dict[str, Any] | None = Field(default=None, alias="_links")
    expandable: dict[str, Any] | None = Field(default=None, alias="_expandable")

    @property
    def active(self) -> bool | None:
        return None if self.status is None else self.status != "deactivated"


class GroupRef(Wire):
    type: str = "group"
    name: str
    links: dict[str, Any] | None = Field(default=None, alias="_links")


class CreateUserRequest(Wire):
    """`POST /rest/api/admin/user` (8.4+)."""

    user_name: str
    full_name: str
    email: str
    password: str
    notify_via_email: bool = False

    def __repr__(self) -> str:
        return f"CreateUserRequest(user_name={self.user_name!r}, password=***)"

    __str__ = __repr__


class CreatedUser(Wire):
    user_key: str


class UpdateUserRequest(Wire):
    """`PUT /rest/api/admin/user/{username}` (9.3+ here; only these two fields are editable)."""

    full_name: str
    email: str


class CreateGroupRequest(Wire):
    name: str
    type: str = "group"


class TaskLinks(Wire):
    status: str


class LongTaskSubmission(Wire):
    """202 body of `DELETE /rest/api/admin/user/{username}`."""

    id: str
    links: TaskLinks


class LongTaskStatus(Wire):
    id: str
    name: dict[str, Any] | None = None
    elapsed_time: int | None = None
    percentage_complete: int | None = None
    successful: bool = True
    finished: bool = False
    messages: list[dict[str, Any]] = Field(default_factory=list)
    links: dict[str, Any] | None = Field(default=None, alias="_links")

    def text(self) -> str:
        parts = [str(m.get("translation", "")) for m in self.messages]
        return "; ".join(p for p in parts if p) or "long task failed"


class ErrorBody(Wire):
    """Confluence's REST error JSON."""

    status_code: int | None = None
    data: dict[str, Any] | None = None
    message: str = ""
    reason: str | None = None


class Manifest(Wire):
    """`GET /rest/applinks/1.0/manifest` with Accept: application/json."""

    id: str | None = None
    name: str | None = None
    type_id: str | None = None
    version: str
    build_number: int | str | None = None
    url: str | None = None


class RpcRequest(Wire):
    jsonrpc: str = "2.0"
    id: int
    method: str
    params: list[Any] = Field(default_factory=list)


class RpcFault(Wire):
    code: int
    message: str = ""
    data: dict[str, Any] | None = None

    @property
    def exception(self) -> str:
        found = (self.data or {}).get("exception")
        if isinstance(found, str):
            return found
        return self.message.split(":", 1)[0] if ":" in self.message else ""


class RpcResponse(Wire):
    jsonrpc: str = "2.0"
    id: int | str | None = None
    result: Any = None
    error: RpcFault | None = None


class RemoteUser(Wire):
    """RPC `getUser` / `getUserByName` result, and the struct of `addUser` / `editUser`."""

    name: str
    fullname: str
    email: str | None = None
    url: str | None = None
    key: str | None = None
