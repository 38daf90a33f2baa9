"""Golden samples of every Confluence exchange the writer makes, named after their source.

Each file holds what the writer sent and what Confluence (the simulator of that version)
answered. Tests: every body parses into the writer's wire model, declares every field, and
round-trips unchanged; and a live re-recording has the same shape, so drift is caught.
Rewrite the files after a deliberate change with `ROSTER_REGEN_GOLDEN=1 uv run pytest ...`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from writer_support import BASE, cmd

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
)
from roster.writer.adapters.wire import (
    CreatedUser,
    CreateGroupRequest,
    CreateUserRequest,
    ErrorBody,
    GroupRef,
    LongTaskStatus,
    LongTaskSubmission,
    Manifest,
    Page,
    Person,
    RemoteUser,
    RpcRequest,
    RpcResponse,
    UpdateUserRequest,
)
from roster.writer.core.version import version_from_manifest

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("ROSTER_REGEN_GOLDEN") == "1"
RPC = "/rpc/json-rpc/confluenceservice-v2"


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        sent = json.loads(request.content) if request.content else None
        if isinstance(sent, dict) and "password" in sent:
            sent["password"] = "<redacted>"
        if isinstance(sent, dict) and sent.get("method") == "addUser":
            sent["params"][1] = "<redacted>"
        try:
            answer: Any = json.loads(body) if body else None
        except ValueError:
            answer = body.decode()
        self.exchanges.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.url.params),
                "request": sent,
                "status": response.status_code,
                "response": answer,
            }
        )
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def _page_of(item: type[BaseModel]) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        round_trip(Page, body)
        for entry in body["results"]:
            round_trip(item, entry)

    return check


def _rpc_user(body: Any) -> None:
    round_trip(RpcResponse, body)
    round_trip(RemoteUser, body["result"])


def _rpc_struct(body: Any) -> None:
    round_trip(RpcRequest, body)
    round_trip(RemoteUser, body["params"][0])


def round_trip(model: type[BaseModel], body: Any) -> None:
    parsed = model.model_validate(body)
    assert parsed.model_extra == {}, f"{model.__name__} lacks fields {parsed.model_extra}"
    assert parsed.wire() == body  # type: ignore[attr-defined]


def _rt(model: type[BaseModel]) -> Callable[[Any], None]:
    return lambda body: round_trip(model, body)


def _manifest_xml(body: Any) -> None:
    assert version_from_manifest(body) == (9, 3)


# name → (version, method, path predicate, status, request check, response check)
Selector = tuple[str, str, Callable[[str], bool], int, Any, Any]
SAMPLES: dict[str, Selector] = {
    "confluence-9.3_applinks_manifest": ("9.3", "GET", lambda p: p.endswith("/manifest"), 200,
                                         None, _rt(Manifest)),
    "confluence-9.3_applinks_manifest_xml": ("xml", "GET", lambda p: p.endswith("/manifest"),
                                             200, None, _manifest_xml),
    "confluence-9.3_rest_user_current": ("9.3", "GET", lambda p: p.endswith("/user/current"),
                                         200, None, _rt(Person)),
    "confluence-9.3_rest_user_expand_status": ("9.3", "GET", lambda p: p == "/rest/api/user",
                                               200, None, _rt(Person)),
    "confluence-9.3_rest_error_404": ("9.3", "GET", lambda p: p == "/rest/api/user", 404, None,
                                      _rt(ErrorBody)),
    "confluence-9.3_rest_user_list_page": ("9.3", "GET", lambda p: p.endswith("/user/list"), 200,
                                           None, _page_of(Person)),
    "confluence-9.3_rest_group_page": ("9.3", "GET", lambda p: p == "/rest/api/group", 200, None,
                                       _page_of(GroupRef)),
    "confluence-9.3_rest_group": ("9.3", "GET", lambda p: p == "/rest/api/group/crew", 200, None,
                                  _rt(GroupRef)),
    "confluence-9.3_rest_group_member_page": ("9.3", "GET", lambda p: p.endswith("/member"), 200,
                                              None, _page_of(Person)),
    "confluence-9.3_rest_user_memberof_page": ("9.3", "GET", lambda p: p.endswith("/memberof"),
                                               200, None, _page_of(GroupRef)),
    "confluence-9.3_rest_admin_user_create": ("9.3", "POST", lambda p: p.endswith("/admin/user"),
                                              201, _rt(CreateUserRequest), _rt(CreatedUser)),
    "confluence-9.3_rest_admin_user_create_409": ("9.3", "POST",
                                                  lambda p: p.endswith("/admin/user"), 409,
                                                  _rt(CreateUserRequest), _rt(ErrorBody)),
    "confluence-9.3_rest_admin_user_create_402": ("402", "POST",
                                                  lambda p: p.endswith("/admin/user"), 402,
                                                  _rt(CreateUserRequest), _rt(ErrorBody)),
    "confluence-9.3_rest_admin_user_create_400": ("9.3", "POST",
                                                  lambda p: p.endswith("/admin/user"), 400,
                                                  _rt(CreateUserRequest), _rt(ErrorBody)),
    "confluence-9.3_rest_admin_user_update": ("9.3", "PUT",
                                              lambda p: p == "/rest/api/admin/user/grace", 204,
                                              _rt(UpdateUserRequest), None),
    "confluence-9.3_rest_admin_user_disable": ("9.3", "PUT", lambda p: p.endswith("/disable"),
                                               204, None, None),
    "confluence-9.3_rest_admin_user_enable": ("9.3", "PUT", lambda p: p.endswith("/enable"), 204,
                                              None, None),
    "confluence-9.3_rest_admin_user_delete": ("9.3", "DELETE",
                                              lambda p: p.startswith("/rest/api/admin/user/"),
                                              202, None, _rt(LongTaskSubmission)),
    "confluence-9.3_rest_longtask": ("9.3", "GET", lambda p: "/longtask/" in p, 200, None,
                                     _rt(LongTaskStatus)),
    "confluence-9.3_rest_admin_group_create": ("9.3", "POST", lambda p: p.endswith("/admin/group"),
                                               201, _rt(CreateGroupRequest), _rt(GroupRef)),
    "confluence-9.3_rest_admin_group_delete": ("9.3", "DELETE", lambda p: "/admin/group/" in p,
                                               204, None, None),
    "confluence-9.3_rest_user_group_add": ("9.3", "PUT", lambda p: "/group/" in p, 204, None,
                                           None),
    "confluence-9.3_rest_user_group_remove": ("9.3", "DELETE", lambda p: "/user/" in p
                                              and "/group/" in p, 204, None, None),
    "confluence-9.3_rest_error_429": ("429", "PUT", lambda p: True, 429, None, _rt(ErrorBody)),
    "confluence-7.13_rpc_addUser": ("7.13:addUser", "POST", lambda p: p == RPC, 200,
                                    _rpc_struct, _rt(RpcResponse)),
    "confluence-7.13_rpc_addUser_exists_fault": ("7.13:addUser:fault", "POST",
                                                 lambda p: p == RPC, 200, _rpc_struct,
                                                 _rt(RpcResponse)),
    "confluence-7.13_rpc_editUser": ("7.13:editUser", "POST", lambda p: p == RPC, 200,
                                     _rpc_struct, _rt(RpcResponse)),
    "confluence-7.13_rpc_getUserByName": ("7.13:getUserByName", "POST", lambda p: p == RPC, 200,
                                          _rt(RpcRequest), _rpc_user),
}  # fmt: skip
for _method in ("deactivateUser", "reactivateUser", "removeUser", "addGroup", "removeGroup",
                "addUserToGroup", "removeUserFromGroup"):  # fmt: skip
    SAMPLES[f"confluence-7.13_rpc_{_method}"] = (
        f"7.13:{_method}",
        "POST",
        lambda p: p == RPC,
        200,
        _rt(RpcRequest),
        _rt(RpcResponse),
    )


async def record(make_sim, make_writer, control) -> dict[str, list[dict[str, Any]]]:
    """Drive the writer through every exchange, per source; returns exchanges per source key."""
    out: dict[str, list[dict[str, Any]]] = {}

    async def writer_on(app, key, **options):
        recorder = Recorder(httpx.ASGITransport(app=app))
        writer = make_writer(app, key_prefix=f"{key}:", **options)
        writer.http_client._transport = recorder
        out[key] = recorder.exchanges
        return writer

    app = make_sim("9.3")
    await control(app).seed({"users": [{"username": "grace", "displayName": "G", "groups":
                                        ["crew"]}], "groups": ["crew", "old"]})  # fmt: skip
    w = await writer_on(app, "9.3")
    for command in (
        cmd(CreateUser, username="ada", display_name="Ada", email="ada@example.com"),
        cmd(CreateUser, username="grace", display_name="Grace", email="grace@example.com"),
        cmd(CreateUser, username="bad", display_name="Bad", email="no-email"),
        cmd(DeactivateUser, username="ada"),
        cmd(ReactivateUser, username="ada"),
        cmd(CreateGroup, group="new"),
        cmd(AddMembership, username="ada", group="crew"),
        cmd(RemoveMembership, username="grace", group="crew"),
        cmd(DeleteGroup, group="old"),
        cmd(DeleteUser, username="ada"),
    ):
        await w.executor.execute(command)
    await w.client.users.get("nobody")
    await w.client.users.list_all()
    await w.client.groups.list_all()
    await w.client.groups.exists("crew")
    await w.client.groups.members("crew")
    await w.client.groups.is_member("grace", "crew")

    xml = Recorder(httpx.ASGITransport(app=app))
    async with httpx.AsyncClient(transport=xml, base_url=BASE) as plain:
        await plain.get("/rest/applinks/1.0/manifest", headers={"Accept": "application/xml"})
    out["xml"] = xml.exchanges

    full = make_sim("9.3", seats=1)
    w = await writer_on(full, "402")
    await w.executor.execute(cmd(CreateUser, username="ada", display_name="A", email="a@b.cd"))

    limited = make_sim("9.3")
    w = await writer_on(limited, "429", max_429=0)
    await w.client.ready()
    await control(limited).ratelimit(enabled=True, fill_rate=1, interval_seconds=60, max=1)
    await control(limited).client.get("/rest/api/user/current", auth=("admin", "admin"))
    await w.executor.execute(cmd(DeactivateUser, username="admin"))

    old = make_sim("7.13")
    await control(old).seed({"users": [{"username": "kim"}], "groups": ["crew", "old"]})
    w = await writer_on(old, "7.13", version="7.13", read_emails="none")
    await w.client.ready()
    rpc_calls = [
        ("addUser", cmd(CreateUser, username="ada", display_name="Ada", email="ada@example.com")),
        ("addUser:fault", cmd(CreateUser, run="again", username="ada", display_name="Ada",
                              email="ada@example.com")),
        ("editUser", cmd(UpdateUser, username="kim", display_name="Kim", email="kim@example.com")),
        ("deactivateUser", cmd(DeactivateUser, username="kim")),
        ("reactivateUser", cmd(ReactivateUser, username="kim")),
        ("addGroup", cmd(CreateGroup, group="new")),
        ("removeGroup", cmd(DeleteGroup, group="old")),
        ("addUserToGroup", cmd(AddMembership, username="kim", group="crew")),
        ("removeUserFromGroup", cmd(RemoveMembership, username="kim", group="crew")),
        ("removeUser", cmd(DeleteUser, username="kim")),
    ]  # fmt: skip
    for name, command in rpc_calls:
        start = len(out["7.13"])
        await w.executor.execute(command)
        out[f"7.13:{name}"] = out["7.13"][start:]
    start = len(out["7.13"])
    await w.client.users.email("ada")
    out["7.13:getUserByName"] = out["7.13"][start:]
    return out


def select(recorded: dict[str, list[dict[str, Any]]], name: str) -> dict[str, Any]:
    source, method, path_ok, status, _, _ = SAMPLES[name]
    rpc_method = name.split("_rpc_")[1].split("_")[0] if "_rpc_" in name else None

    def wanted(exchange: dict[str, Any]) -> bool:
        if (exchange["method"], exchange["status"]) != (method, status):
            return False
        if not path_ok(exchange["path"]):
            return False
        if rpc_method is not None and exchange["request"]["method"] != rpc_method:
            return False
        return not name.endswith("_fault") or "error" in (exchange["response"] or {})

    for exchange in recorded[source]:
        if wanted(exchange):
            return exchange
    raise AssertionError(f"{name}: no exchange recorded for {source} {method} {status}")


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((GOLDEN / f"{name}.json").read_text()))


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden_sample_parses_and_round_trips(name: str) -> None:
    if REGENERATE:
        pytest.skip("regenerating")
    sample = load(name)
    _, method, path_ok, status, check_request, check_response = SAMPLES[name]
    assert (sample["method"], sample["status"]) == (method, status)
    assert path_ok(sample["path"])
    if check_request is not None:
        check_request(sample["request"])
    if check_response is not None:
        check_response(sample["response"])
    else:
        assert sample["response"] is None


async def test_live_exchanges_match_the_golden_shapes(make_sim, make_writer, control) -> None:
    recorded = await record(make_sim, make_writer, control)
    GOLDEN.mkdir(exist_ok=True)
    for name in sorted(SAMPLES):
        exchange = select(recorded, name)
        source = SAMPLES[name][0].split(":")[0]
        version = "9.3" if source in ("xml", "402", "429") else source
        exchange = {"source": f"Confluence {version} (roster simulator)", **exchange}
        path = GOLDEN / f"{name}.json"
        if REGENERATE or not path.exists():
            path.write_text(json.dumps(exchange, indent=2, sort_keys=True) + "\n")
            continue
        stored = load(name)
        assert shape(exchange["request"]) == shape(stored["request"]), name
        assert shape(exchange["response"]) == shape(stored["response"]), name
