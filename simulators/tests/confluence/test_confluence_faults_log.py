"""Fault injection (in-process and over real uvicorn) and the request log's ops and effects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from confluence_support import SimFactory

from roster.simulators.common.faults import DroppedConnectionError
from roster.simulators.confluence import SimApp, SimConfig, create_app

Serve = Callable[[SimApp], Awaitable[str]]


async def injected_statuses(make_sim: SimFactory, seed: int, n: int = 400) -> list[int]:
    sim = await make_sim("8.4")
    faults = {"error_rate": 0.25, "error_status": 503, "seed": seed}
    assert (await sim.client.put("/_sim/faults", json=faults)).status_code == 200
    return [(await sim.client.get("/rest/api/group")).status_code for _ in range(n)]


async def test_injected_503_share_is_seeded_and_close_to_the_rate(make_sim: SimFactory) -> None:
    first = await injected_statuses(make_sim, seed=7)
    again = await injected_statuses(make_sim, seed=7)
    other = await injected_statuses(make_sim, seed=8)
    assert first == again
    assert first != other
    assert set(first) == {200, 503}
    share = first.count(503) / len(first)
    assert 0.18 < share < 0.32


async def test_faults_are_logged_rejected_and_control_routes_unaffected(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim("8.2")
    await sim.seed([{"username": "alice"}])
    await sim.client.put("/_sim/faults", json={"error_rate": 1.0, "error_status": 500})
    response = await sim.client.put("/rest/api/admin/user/alice/disable")
    assert response.status_code == 500
    assert (await sim.client.get("/_sim/state")).status_code == 200
    entry = (await sim.log())[-1]
    assert (entry["op"], entry["target"], entry["effect"]) == ("disable_user", "alice", "rejected")
    assert (await sim.state())["users"][1]["active"] is True
    assert (await sim.client.get("/_sim/faults")).json()["error_rate"] == 1.0


async def test_method_filter_limits_faults_to_writes(make_sim: SimFactory) -> None:
    sim = await make_sim("8.2")
    await sim.client.put("/_sim/faults", json={"error_rate": 1.0, "methods": ["PUT"]})
    assert (await sim.client.get("/rest/api/group")).status_code == 200
    assert (await sim.client.put("/rest/api/user/admin/group/confluence-users")).status_code == 503


async def test_drop_in_process_raises(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    await sim.client.put("/_sim/faults", json={"drop_rate": 1.0})
    with pytest.raises(DroppedConnectionError):
        await sim.client.get("/rest/api/group")
    entry = (await sim.log())[-1]
    assert (entry["status"], entry["effect"]) == (0, "rejected")


async def test_drop_over_uvicorn_is_a_transport_error(served: Serve) -> None:
    app = create_app(SimConfig(version="8.4"))
    base = await served(app)
    async with httpx.AsyncClient(base_url=base, auth=("admin", "admin"), timeout=5) as client:
        assert (await client.get("/rest/api/group")).status_code == 200
        await client.put("/_sim/faults", json={"drop_rate": 1.0})
        with pytest.raises(httpx.TransportError):
            await client.get("/rest/api/group")
        await client.put("/_sim/faults", json={"drop_rate": 0.0})
        assert (await client.get("/rest/api/group")).status_code == 200
        log = (await client.get("/_sim/requests")).json()
    assert [e["status"] for e in log["entries"]] == [200, 0, 200]


async def test_latency_fault_over_uvicorn(served: Serve) -> None:
    app = create_app(SimConfig(version="8.4"))
    base = await served(app)
    async with httpx.AsyncClient(base_url=base, auth=("admin", "admin")) as client:
        await client.put("/_sim/faults", json={"latency_ms": 300})
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/rest/api/group", timeout=0.05)
        assert (await client.get("/rest/api/group", timeout=5)).status_code == 200


async def test_request_log_records_ops_targets_and_effects(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    user = {"userName": "jdoe", "fullName": "J D", "email": "j@example.com", "password": "pw"}
    calls = [
        ("POST", "/rest/api/admin/user", user),
        ("POST", "/rest/api/admin/user", user),
        ("GET", "/rest/api/user?username=jdoe", None),
        ("POST", "/rest/api/admin/group", {"name": "team"}),
        ("PUT", "/rest/api/user/jdoe/group/team", None),
        ("PUT", "/rest/api/user/jdoe/group/team", None),
        ("PUT", "/rest/api/admin/user/jdoe/disable", None),
        ("DELETE", "/rest/api/admin/group/team", None),
        ("DELETE", "/rest/api/admin/user/jdoe", None),
        ("GET", "/rest/api/nothing", None),
    ]
    for method, path, body in calls:
        await sim.client.request(method, path, json=body)
    rows = [(e["op"], e["target"], e["effect"], e["status"]) for e in await sim.log()]
    assert rows == [
        ("create_user", "jdoe", "applied", 201),
        ("create_user", "jdoe", "rejected", 409),
        ("read", "jdoe", "read", 200),
        ("create_group", "team", "applied", 201),
        ("add_member", "jdoe", "applied", 204),
        ("add_member", "jdoe", "noop", 204),
        ("disable_user", "jdoe", "applied", 204),
        ("delete_group", "team", "applied", 204),
        ("delete_user", "jdoe", "applied", 202),
        ("read", None, "rejected", 404),
    ]
    entries = await sim.log()
    assert [e["seq"] for e in entries] == list(range(len(calls)))
    assert {"seq", "time", "method", "path", "status", "op", "target", "effect"} <= set(entries[0])
    assert [e["seq"] for e in await sim.log(since=8)] == [8, 9]
    assert (await sim.client.get("/_sim/requests?since=8")).json()["count"] == len(calls)
