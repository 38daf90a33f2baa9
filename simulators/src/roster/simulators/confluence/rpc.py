"""JSON-RPC front end of the legacy remote API (reference §2), present in every version.

The only write path before 8.2 and the only place a client can read a user's email. Both the
JSON-RPC 2.0 envelope and the "light" form (method in the URL, JSON array body) are served;
application faults come back as HTTP 200 with an error object, as the reference believes.
"""

# Error codes (the product's own are unverified; these are our documented choice):
#   -32700 body is not JSON            -32600 not a JSON-RPC 2.0 request object
#   -32601 unknown method              -32602 wrong number or type of params
#   -32000 application fault: `message` is "<java class>: <text>" and `data.exception` the class:
#          RemoteException (no such user/group, validation, licence full),
#          AlreadyExistsException (user or group exists), NotPermittedException (last admin group).
# Envelope replies: {"jsonrpc":"2.0","id":…,"result":…} or {"jsonrpc":"2.0","id":…,"error":{…}}.
# Light replies: the bare result, or {"error":{…}} (no envelope to carry it), both HTTP 200.

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from roster.simulators.confluence.errors import DirectoryError
from roster.simulators.confluence.runtime import RouteSpec, Simulator
from roster.simulators.confluence.state import Directory, User
from roster.simulators.confluence.validation import (
    validate_email,
    validate_full_name,
    validate_username,
)
from roster.simulators.confluence.wire import Outcome, base_url, json_response, outcome

RPC_PATH = "/rpc/json-rpc/confluenceservice-v2"
APP_FAULT = -32000


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


@dataclass(slots=True)
class Call:
    directory: Directory
    params: list[Any]
    out: Outcome
    base: str

    def text(self, index: int, name: str) -> str:
        value = self.params[index] if index < len(self.params) else None
        if not isinstance(value, str):
            raise RpcError(-32602, f"Invalid params: {name} must be a string")
        return value

    def user(self, index: int = 0) -> User:
        username = self.text(index, "username")
        self.out.target = username.lower()
        return self.directory.require_user(username)

    def remote_user(self, user: User, *, with_key: bool) -> dict[str, Any]:
        data = {
            "name": user.username,
            "fullname": user.display_name,
            "email": user.email,
            "url": f"{self.base}/display/~{user.username}",
        }
        if with_key:
            data["key"] = user.key
        return data

    def wrote(self, changed: bool) -> bool:
        self.out.effect = "applied" if changed else "noop"
        return True


def _user_struct(call: Call) -> dict[str, Any]:
    struct = call.params[0] if call.params else None
    if not isinstance(struct, dict):
        raise RpcError(-32602, "Invalid params: expected a RemoteUser object")
    name = struct.get("name")
    call.out.target = name.lower() if isinstance(name, str) else None
    return struct


def _add_user(call: Call) -> None:
    struct = _user_struct(call)
    if len(call.params) < 2 or not isinstance(call.params[1], str):
        raise RpcError(-32602, "Invalid params: addUser takes (RemoteUser, password[, notify])")
    username = validate_username(struct.get("name"))
    full_name = validate_full_name(struct.get("fullname"))
    email = validate_email(struct.get("email"))
    call.directory.create_user(username, full_name, email, via_api=True)
    call.out.effect = "applied"
    return None


def _edit_user(call: Call) -> bool:
    struct = _user_struct(call)
    user = call.directory.require_user(str(struct.get("name")))
    full_name = validate_full_name(struct.get("fullname"))
    email = validate_email(struct.get("email"))
    return call.wrote(
        call.directory.update_user(user.username, display_name=full_name, email=email)
    )


def _remove_group(call: Call) -> bool:
    name = call.text(0, "groupname")
    call.out.target = name.lower()
    default = call.params[1] if len(call.params) > 1 else None
    if default is not None and not isinstance(default, str):
        raise RpcError(-32602, "Invalid params: defaultGroupName must be a string or null")
    call.directory.delete_group(name, default or None)
    return call.wrote(True)


def _membership(call: Call, add: bool) -> bool:
    user = call.user(0)
    name = call.text(1, "groupname")
    call.out.group = name.lower()
    if add:
        return call.wrote(call.directory.add_member(user.username, name))
    return call.wrote(call.directory.remove_member(user.username, name))


def _active_users(call: Call) -> list[str]:
    if not call.params or not isinstance(call.params[0], bool):
        raise RpcError(-32602, "Invalid params: getActiveUsers takes (viewAll: boolean)")
    return [
        u.username for u in call.directory.user_page(0, len(call.directory.users))[0] if u.active
    ]


def _has_user(call: Call) -> bool:
    username = call.text(0, "username")
    call.out.target = username.lower()
    return call.directory.user(username) is not None


def _add_group(call: Call) -> bool:
    name = call.text(0, "groupname")
    call.out.target = name.lower()
    call.directory.create_group(name)
    return call.wrote(True)


def _has_group(call: Call) -> bool:
    name = call.text(0, "groupname")
    call.out.target = name.lower()
    return name.lower() in call.directory.groups


def _remove_user(call: Call) -> bool:
    call.directory.delete_user(call.user().username)
    return call.wrote(True)


Method = Callable[[Call], Any]
# name -> (implementation, min params, max params, whether it writes)
METHODS: dict[str, tuple[Method, int, int, bool]] = {
    "getUser": (lambda c: c.remote_user(c.user(), with_key=False), 1, 1, False),
    "getUserByName": (lambda c: c.remote_user(c.user(), with_key=True), 1, 1, False),
    "hasUser": (_has_user, 1, 1, False),
    "addUser": (_add_user, 2, 3, True),
    "editUser": (_edit_user, 1, 1, True),
    "deactivateUser": (
        lambda c: c.wrote(c.directory.set_active(c.user().username, False)),
        1,
        1,
        True,
    ),
    "reactivateUser": (
        lambda c: c.wrote(c.directory.set_active(c.user().username, True)),
        1,
        1,
        True,
    ),
    "isActiveUser": (lambda c: c.user().active, 1, 1, False),
    "removeUser": (_remove_user, 1, 1, True),
    "getGroups": (lambda c: c.directory.group_names(), 0, 0, False),
    "hasGroup": (_has_group, 1, 1, False),
    "addGroup": (_add_group, 1, 1, True),
    "removeGroup": (_remove_group, 1, 2, True),
    "getUserGroups": (lambda c: sorted(c.user().groups), 1, 1, False),
    "addUserToGroup": (lambda c: _membership(c, add=True), 2, 2, True),
    "removeUserFromGroup": (lambda c: _membership(c, add=False), 2, 2, True),
    "getActiveUsers": (_active_users, 1, 1, False),
}


def invoke(sim: Simulator, method: str, params: Any, out: Outcome, base: str) -> Any:
    """Run one call; raises `RpcError` for every failure, application faults included."""
    out.op = f"rpc:{method}"
    entry = METHODS.get(method)
    if entry is None:
        raise RpcError(-32601, f"Method not found: {method}")
    impl, low, high, _ = entry
    if not isinstance(params, list) or not low <= len(params) <= high:
        raise RpcError(-32602, f"Invalid params: {method} takes {low}–{high} positional params")
    call = Call(sim.directory, params, out, base)
    try:
        result = impl(call)
    except DirectoryError as exc:
        raise RpcError(
            APP_FAULT, f"{exc.rpc_exception}: {exc.message}", {"exception": exc.rpc_exception}
        ) from None
    if out.effect is None:
        out.effect = "read"
    return result


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        raise RpcError(-32700, "Parse error: the body is not valid JSON") from None


def routes(sim: Simulator) -> list[RouteSpec]:
    async def envelope(request: Request) -> Response:
        out = outcome(request)
        request_id: Any = None
        try:
            message = _parse(await request.body())
            if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
                raise RpcError(-32600, "Invalid Request: expected a JSON-RPC 2.0 request object")
            request_id = message.get("id")
            method = message.get("method")
            if not isinstance(method, str):
                raise RpcError(-32600, "Invalid Request: method must be a string")
            result = invoke(sim, method, message.get("params", []), out, base_url(request))
        except RpcError as exc:
            out.effect = "rejected"
            return json_response({"jsonrpc": "2.0", "id": request_id, "error": exc.body()})
        return json_response({"jsonrpc": "2.0", "id": request_id, "result": result})

    async def light(request: Request) -> Response:
        out = outcome(request)
        try:
            params = _parse(await request.body())
            result = invoke(
                sim,
                request.path_params["method"],
                [] if params is None else params,
                out,
                base_url(request),
            )
        except RpcError as exc:
            out.effect = "rejected"
            return json_response({"error": exc.body()})
        return json_response(result)

    return [
        RouteSpec("POST", RPC_PATH, envelope, "rpc"),
        RouteSpec("POST", RPC_PATH + "/{method}", light, "rpc"),
    ]
