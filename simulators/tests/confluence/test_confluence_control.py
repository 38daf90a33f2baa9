"""Control routes and the command line: state, reset, seeding, users file, flags → config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluence_support import FakeClock, Sim, SimFactory

from roster.simulators.confluence.__main__ import config_from, parse_args


async def test_initial_state_is_just_admin(sim: Sim) -> None:
    state = await sim.state()
    assert state["version"] == "8.4"
    assert [u["username"] for u in state["users"]] == ["admin"]
    admin = state["users"][0]
    assert set(admin) == {"username", "userKey", "displayName", "email", "active", "lastLogin"}
    assert state["groups"] == ["confluence-administrators", "confluence-users"]
    assert state["memberships"] == {
        "confluence-administrators": ["admin"],
        "confluence-users": ["admin"],
    }


async def test_reset_keeps_faults_and_ratelimit_unless_asked(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4", clock=FakeClock())
    await sim.seed([{"username": "alice"}], groups=["team"])
    await sim.client.put("/_sim/faults", json={"latency_ms": 1})
    await sim.client.put("/_sim/ratelimit", json={"enabled": True, "max": 500})
    await sim.client.get("/rest/api/group")
    reset = await sim.client.post("/_sim/reset")
    assert [u["username"] for u in reset.json()["users"]] == ["admin"]
    assert await sim.log() == []
    assert (await sim.client.get("/_sim/faults")).json()["latency_ms"] == 1
    assert (await sim.client.get("/_sim/ratelimit")).json()["max"] == 500
    await sim.client.post("/_sim/reset", json={"resetFaults": True, "resetRatelimit": True})
    assert (await sim.client.get("/_sim/faults")).json()["latency_ms"] == 0
    assert (await sim.client.get("/_sim/ratelimit")).json()["enabled"] is False


async def test_recreated_user_gets_a_new_key(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    await sim.seed([{"username": "alice"}])
    first = (await sim.client.get("/rest/api/user?username=alice")).json()["userKey"]
    await sim.client.post("/_sim/reset")
    await sim.seed([{"username": "alice"}])
    second = (await sim.client.get("/rest/api/user?username=alice")).json()["userKey"]
    assert first != second


async def test_seed_upserts_and_sets_fields(sim: Sim) -> None:
    await sim.seed([{"username": "Bob", "displayName": "Bob", "email": "b@x.io", "groups": ["g"]}])
    await sim.seed([{"username": "bob", "displayName": "Robert", "active": False}])
    bob = next(u for u in (await sim.state())["users"] if u["username"] == "bob")
    assert (bob["displayName"], bob["active"], bob["email"]) == ("Robert", False, "b@x.io")
    assert (await sim.state())["memberships"]["g"] == ["bob"]


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/_sim/users", {"users": [{"name": "x"}]}),
        ("/_sim/seats", {"seats": -1}),
        ("/_sim/faults", {"error_rate": 2}),
        ("/_sim/users/admin/last-login", {"lastLogin": "yesterday"}),
    ],
)
async def test_control_validation(sim: Sim, path: str, payload: object) -> None:
    method = "POST" if path == "/_sim/users" else "PUT"
    response = await sim.client.request(method, path, json=payload)
    assert response.status_code == 400


async def test_last_login_for_missing_user_is_404(sim: Sim) -> None:
    response = await sim.client.put("/_sim/users/ghost/last-login", json={"lastLogin": None})
    assert response.status_code == 404


async def test_users_file_is_loaded(make_sim: SimFactory, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    users = [{"username": "alice", "groups": ["team"], "lastLogin": "2024-01-02T03:04:05+00:00"}]
    path.write_text(json.dumps(users))
    sim = await make_sim("9.3", users_file=path)
    state = await sim.state()
    alice = next(u for u in state["users"] if u["username"] == "alice")
    assert alice["lastLogin"] == "2024-01-02T03:04:05+00:00"
    assert state["memberships"]["team"] == ["alice"]


def test_cli_flags_become_config() -> None:
    args = parse_args(
        [
            "--version", "9.3", "--port", "9999", "--seats", "5", "--token", "pat",
            "--rate-limit-fill", "3", "--rate-limit-interval", "2", "--rate-limit-max", "7",
            "--admin-user", "root", "--admin-password", "pw", "--default-group", "",
        ]
    )  # fmt: skip
    config = config_from(args)
    assert (config.version, config.seats, config.token) == ("9.3", 5, "pat")
    assert (config.admin_user, config.admin_password, config.default_group) == ("root", "pw", None)
    limit = config.ratelimit
    assert (limit.enabled, limit.fill_rate, limit.interval_seconds, limit.max) == (True, 3, 2, 7)
    assert args.port == 9999
    assert config_from(parse_args([])).ratelimit.enabled is False


@pytest.mark.parametrize("version", ["6.0", "10.0", "eight"])
def test_cli_rejects_unsupported_versions(version: str) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--version", version])
