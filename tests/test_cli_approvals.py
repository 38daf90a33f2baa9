"""`roster plan / approve / reject` against a real HTTP server running the approvals API
on the real Redis: the plan printed readably and as JSON, decisions, one-line errors."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import redis
import redis.asyncio as aredis
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from roster.cli.main import app as cli
from roster.scheduler.approvals import approvals_router
from roster.scheduler.runs import RunStore
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.redisdb import Keys

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services/scheduler/tests"))
from scheduler_support import Recorder  # noqa: E402

PLAN = {
    "run_id": "r1",
    "directory": "kc",
    "status": "held",
    "hold_reason": "the IdP snapshot is empty while 2 users are managed",
    "summary": {"deactivate_users": 2, "create_users": 0},
    "users": [
        {
            "username": "ada",
            "subject": "s-ada",
            "outcome": "deactivated",
            "reasons": ["not in the IdP any more"],
            "changes": [{"type": "DeactivateUser", "reason": "deprovision"}],
        }
    ],
    "commands": [],
}


@dataclass
class Api:
    url: str
    keys: Keys
    sync: redis.Redis
    runtime: Recorder


@pytest.fixture
def api(stack_env: dict[str, str]) -> Iterator[Api]:
    url = stack_env["REDIS_URL"]
    keys = Keys(f"t-{uuid.uuid4().hex[:8]}:")
    sync = redis.Redis.from_url(url, decode_responses=True)
    client = aredis.Redis.from_url(url, decode_responses=True)
    runtime = Recorder()
    config = RosterConfig(redis={"url": url, "key_prefix": keys("")})
    app = FastAPI()
    store = RunStore(client, keys)
    app.include_router(approvals_router(config, cast(KafkaRuntime, runtime), store, client=client))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield Api(f"http://127.0.0.1:{port}", keys, sync, runtime)
    server.should_exit = True
    thread.join(10)
    for key in sync.scan_iter(match=keys("*"), count=5000):
        sync.delete(key)
    sync.close()


def held(api: Api) -> None:
    api.sync.hset(api.keys("run", "r1"), mapping={"directory": "kc", "status": "held"})
    api.sync.set(api.keys("rec", "plan", "r1"), json.dumps(PLAN))


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_plan_readable_and_json(api: Api) -> None:
    held(api)
    result = run("plan", "r1", "--api", api.url)
    assert result.exit_code == 0, result.output
    assert "run r1 (kc): held" in result.output
    assert "held: the IdP snapshot is empty" in result.output
    assert "summary: deactivate_users=2" in result.output
    assert "ada: deactivated [DeactivateUser] not in the IdP any more" in result.output
    as_json = run("plan", "r1", "--api", api.url, "--json")
    assert json.loads(as_json.output) == PLAN


def test_approve_then_reject_is_refused_in_one_line(api: Api) -> None:
    held(api)
    approved = run("approve", "r1", "--api", api.url, "--by", "ops")
    assert approved.exit_code == 0, approved.output
    assert approved.output.strip() == "run r1: approved"
    assert [m.by for _, _, m in api.runtime.sent] == ["ops"]
    refused = run("reject", "r1", "--api", api.url)
    assert refused.exit_code == 1
    assert "409" in refused.output
    assert "already" in refused.output


def test_unknown_run(api: Api) -> None:
    for verb in ("plan", "approve", "reject"):
        result = run(verb, "nope", "--api", api.url)
        assert result.exit_code == 1
        assert "404" in result.output


def test_reject_json(api: Api) -> None:
    held(api)
    result = run("reject", "r1", "--api", api.url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"run_id": "r1", "decision": "rejected"}
