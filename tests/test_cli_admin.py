"""The `roster` admin commands against a real HTTP server running the scheduler's API and
approvals routers, behind real tokens, on the real Redis: the bearer token sent (option and
ROSTER_API_TOKEN), the one-line 401 and 403, the runs table and JSON, `results --json` equal
byte for byte to the API's download, the filtered results table, `config validate`, and
`up` / `down` inside and outside a checkout."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import pytest
import redis
import redis.asyncio as aredis
from fastapi import FastAPI
from typer.testing import CliRunner

from roster.cli.main import app as cli
from roster.scheduler.api import mount_api
from roster.scheduler.approvals import approvals_router
from roster.scheduler.auth import Guard
from roster.scheduler.runs import RunStore
from roster.scheduler.syncs import SyncStarter
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.results import CommandFailed, CommandSucceeded
from roster.shared.redisdb import Keys
from roster.simulators.common.serving import Servers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services/scheduler/tests"))
from scheduler_support import Recorder, two_tokens  # noqa: E402

OPERATOR = f"cli-op-{uuid.uuid4().hex}"
VIEWER = f"cli-view-{uuid.uuid4().hex}"
TOKENS = two_tokens("CLI", OPERATOR, VIEWER)
DIRECTORIES = [{"id": "corp", "kind": "scim", "scim": {"tokens": [{"env": "SCIM_TOKEN"}]}}]
T = TypeVar("T")


@dataclass
class Api:
    url: str
    store: RunStore
    runtime: Recorder
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the server's loop (where the Redis client lives)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def seed(self) -> None:
        """Two runs of corp: r-old succeeded (3 results), r-new still running (1 of 4)."""
        self.run(self._seed())

    async def _seed(self) -> None:
        await self.store.started("r-old", {"directory": "corp", "mode": "full", "trigger": "cli"})
        await self.store.update("r-old", {"commands": 3})
        for index, name in enumerate(("ada", "bob")):
            await self.store.record_result(
                CommandSucceeded(
                    run_id="r-old", command_id=f"c{index}", operation="CreateUser",
                    directory="corp", username=name, noop=name == "bob",
                )
            )  # fmt: skip
        await self.store.record_result(
            CommandFailed(
                run_id="r-old", command_id="c9", operation="AddToGroup", directory="corp",
                username="cyd", group="staff", permanent=True, status=400, error="no such group",
            )
        )  # fmt: skip
        await self.store.try_complete("r-old")
        await self.store.started("r-new", {"directory": "corp", "mode": "delta", "trigger": "api"})
        await self.store.update("r-new", {"commands": 4})
        await self.store.record_result(
            CommandSucceeded(run_id="r-new", command_id="n1", operation="CreateUser",
                             directory="corp", username="dan")
        )  # fmt: skip


@pytest.fixture
def api(stack_env: dict[str, str]) -> Iterator[Api]:
    url = stack_env["REDIS_URL"]
    prefix = f"tcli-{uuid.uuid4().hex[:8]}:"
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    client = aredis.Redis.from_url(url, decode_responses=True)
    store = RunStore(client, Keys(prefix))
    runtime = Recorder()
    kafka = cast(KafkaRuntime, runtime)
    config = RosterConfig(redis={"url": url, "key_prefix": prefix}, directories=DIRECTORIES)
    guard = Guard(TOKENS)
    app = FastAPI()
    mount_api(app, config, SyncStarter(kafka, store), store, guard=guard)
    app.include_router(approvals_router(config, kafka, store, guard=guard, client=client))
    servers = Servers()
    base = asyncio.run_coroutine_threadsafe(servers.start(app), loop).result(30)
    yield Api(base, store, runtime, loop)
    asyncio.run_coroutine_threadsafe(servers.close(), loop).result(30)
    asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
    sync = redis.Redis.from_url(url)
    for key in sync.scan_iter(match=f"{prefix}*", count=5000):
        sync.delete(key)
    sync.close()


def roster(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run the CLI with none of the developer's ROSTER_API* variables, plus `env`."""
    unset: dict[str, str | None] = dict.fromkeys(
        ("ROSTER_API_TOKEN", "ROSTER_API", "ROSTER_API_URL")
    )
    return CliRunner().invoke(cli, list(args), env=unset | (env or {}))


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# ---------------------------------------------------------------- tokens ----


def test_without_a_token_the_401_is_one_line_naming_the_option_and_variable(api: Api) -> None:
    result = roster("runs", "--api", api.url)
    assert result.exit_code == 1
    assert result.stdout == ""
    line = one_line(result.stderr)
    assert line.startswith("error: 401 unauthorized")
    assert "--token" in line
    assert "ROSTER_API_TOKEN" in line
    wrong = roster("runs", "--api", api.url, "--token", "not-a-token")
    assert wrong.exit_code == 1
    assert "401" in one_line(wrong.stderr)
    assert "not-a-token" not in wrong.stderr


def test_the_token_comes_from_the_option_or_the_environment(api: Api) -> None:
    api.seed()
    by_option = roster("runs", "--api", api.url, "--token", VIEWER, "--json")
    assert by_option.exit_code == 0, by_option.output
    by_env = roster("runs", "--json", env={"ROSTER_API_TOKEN": VIEWER, "ROSTER_API_URL": api.url})
    assert by_env.exit_code == 0, by_env.output
    assert json.loads(by_env.stdout) == json.loads(by_option.stdout)
    assert [r["run_id"] for r in json.loads(by_env.stdout)] == ["r-new", "r-old"]


def test_a_viewer_starting_a_sync_gets_one_403_line_and_nothing_is_sent(api: Api) -> None:
    result = roster("sync", "-d", "corp", "--api", api.url, "--token", VIEWER)
    assert result.exit_code == 1
    line = one_line(result.stderr)
    assert line.startswith("error: 403 forbidden: the token's role is not enough")
    assert "vic has the role viewer; this needs operator" in line
    assert api.runtime.sent == []
    started = roster("sync", "-d", "corp", "--api", api.url, "--token", OPERATOR, "--json")
    assert started.exit_code == 0, started.output
    assert json.loads(started.stdout)["by"] == "olga"
    assert "SyncRequested" in {type(m).__name__ for _, _, m in api.runtime.sent}


def test_a_viewer_cannot_approve(api: Api) -> None:
    api.run(api.store.started("r-held", {"directory": "corp", "status": "held"}))
    result = roster("approve", "r-held", "--api", api.url, "--token", VIEWER)
    assert result.exit_code == 1
    assert "403 forbidden" in one_line(result.stderr)
    assert api.runtime.sent == []


# ------------------------------------------------------------------ runs ----


def test_runs_table_and_json(api: Api) -> None:
    api.seed()
    table = roster("runs", "--api", api.url, "--token", VIEWER)
    assert table.exit_code == 0, table.output
    rows = {line.split()[1]: line for line in table.stdout.splitlines() if "r-" in line}
    assert set(rows) == {"r-new", "r-old"}
    assert "corp" in rows["r-old"]
    assert "succeeded" not in rows["r-old"]  # one failed result: the run failed
    assert "failed" in rows["r-old"]
    assert "3/3" in rows["r-old"]
    assert "running" in rows["r-new"]
    assert "1/4" in rows["r-new"]
    assert "delta" in rows["r-new"]
    as_json = roster("runs", "--api", api.url, "--token", VIEWER, "--json")
    direct = httpx.get(f"{api.url}/api/v1/runs", params={"limit": 20},
                       headers={"Authorization": f"Bearer {VIEWER}"})  # fmt: skip
    assert json.loads(as_json.stdout) == direct.json()


def test_runs_filters_reach_the_api(api: Api) -> None:
    api.seed()
    failed = roster("runs", "--api", api.url, "--token", VIEWER, "--status", "failed", "--json")
    assert [r["run_id"] for r in json.loads(failed.stdout)] == ["r-old"]
    one = roster("runs", "--api", api.url, "--token", VIEWER, "--limit", "1", "--json")
    assert [r["run_id"] for r in json.loads(one.stdout)] == ["r-new"]
    other = roster("runs", "--api", api.url, "--token", VIEWER, "-d", "elsewhere", "--json")
    assert json.loads(other.stdout) == []


# --------------------------------------------------------------- results ----


def test_results_json_is_the_download_byte_for_byte(api: Api) -> None:
    api.seed()
    result = roster("results", "r-old", "--api", api.url, "--token", VIEWER, "--json")
    assert result.exit_code == 0, result.output
    download = httpx.get(
        f"{api.url}/api/v1/runs/r-old/results/download",
        headers={"Authorization": f"Bearer {VIEWER}"},
    )
    assert download.status_code == 200
    assert result.stdout_bytes == download.content
    assert {r["command_id"] for r in json.loads(result.stdout_bytes)} == {"c0", "c1", "c9"}


def test_results_table_shows_the_filtered_page(api: Api) -> None:
    api.seed()
    everything = roster("results", "r-old", "--api", api.url, "--token", VIEWER)
    assert everything.exit_code == 0, everything.output
    assert "3 of 3 results" in everything.stdout
    for name in ("ada", "bob", "cyd"):
        assert name in everything.stdout
    failed = roster("results", "r-old", "--api", api.url, "--token", VIEWER, "--status", "failed")
    assert failed.exit_code == 0, failed.output
    assert "1 of 1 results" in failed.stdout
    assert "cyd" in failed.stdout
    assert "no such group" in failed.stdout
    assert "ada" not in failed.stdout
    by_user = roster("results", "r-old", "--api", api.url, "--token", VIEWER, "--user", "BO")
    assert "bob" in by_user.stdout
    assert "noop" in by_user.stdout
    assert "ada" not in by_user.stdout


def test_results_of_an_unknown_run_is_a_404_line(api: Api) -> None:
    for extra in ([], ["--json"]):
        result = roster("results", "nope", "--api", api.url, "--token", VIEWER, *extra)
        assert result.exit_code == 1
        assert one_line(result.stderr) == "error: 404 no run nope"


# ---------------------------------------------------------------- config ----


GOOD = """
redis: {url: "redis://127.0.0.1:1/0"}
directories:
  - {id: corp, kind: scim, scim: {tokens: [{env: ROSTER_TEST_CLI_OPERATOR}]}}
scheduler:
  auth:
    tokens: [{name: ops, role: operator, token: {env: ROSTER_TEST_CLI_OPERATOR}}]
"""


def test_config_validate_ok_and_invalid(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    for command in (["config", "validate"], ["config-validate"]):
        result = roster(*command, str(good))
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == "ok: 1 directories"
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("role: operator", "role: admin"))
    for command in (["config", "validate"], ["config-validate"]):
        result = roster(*command, str(bad))
        assert result.exit_code == 2
        assert "scheduler.auth.tokens.0.role" in result.stderr
        assert result.stdout == ""


# ------------------------------------------------------------- up / down ----


def test_up_and_down_outside_a_checkout_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for verb in ("up", "down"):
        result = roster(verb)
        assert result.exit_code == 2
        line = one_line(result.stderr)
        assert line.startswith("error: not inside a Roster checkout")
        assert "scripts/localstack.py" in line


def test_up_runs_make_at_the_checkout_root_with_the_idp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "localstack.py").write_text("")
    (tmp_path / "Makefile").write_text("")
    nested = tmp_path / "docs" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    calls: list[tuple[list[str], Path]] = []

    class Done:
        returncode = 3

    def fake_run(command: list[str], *, cwd: Path, check: bool) -> Done:
        calls.append((command, cwd))
        return Done()

    monkeypatch.setattr(subprocess, "run", fake_run)
    up = roster("up", "--idp", "okta")
    down = roster("down")
    assert (up.exit_code, down.exit_code) == (3, 3)
    assert [(c[1:], cwd) for c, cwd in calls] == [
        (["up", "IDP=okta"], tmp_path.resolve()),
        (["down"], tmp_path.resolve()),
    ]
