"""The admin surfaces of the local stack end to end: the installed `roster` command against
the real scheduler (as `make up` starts it, with the demo tokens) after a real full sync.

`roster sync --wait` as the operator succeeds, `roster runs --json` lists the run, `roster
results RUN --json` prints exactly the bytes of the API's download, a call without a token
is a 401 (and the CLI's one line), a viewer cannot start a sync, and the web UI accepts the
operator token `up` prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from e2e_support import running_stack  # noqa: E402
from localstack import SECRETS, VIEWER_TOKEN_ENV, Stack  # noqa: E402

ROSTER = Path(sys.executable).parent / "roster"
"""The installed console script, as a user runs it."""


@pytest.fixture
def stack(tmp_path: Path, stack_env: dict[str, str]) -> Iterator[Stack]:
    with running_stack(tmp_path, users=40, groups=4, memberships=120) as s:
        yield s


def roster(stack: Stack, *args: str, token: str | None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_API")}
    env["ROSTER_API_URL"] = stack.api
    if token is not None:
        env["ROSTER_API_TOKEN"] = token
    return subprocess.run(
        [str(ROSTER), *args], env=env, capture_output=True, timeout=600, check=False
    )


def test_cli_after_a_real_full_sync(stack: Stack) -> None:
    operator = stack.operator_token
    synced = roster(stack, "sync", "-d", "kc", "--wait", "--json", "--timeout", "300",
                    token=operator)  # fmt: skip
    assert synced.returncode == 0, synced.stderr.decode()
    run = json.loads(synced.stdout)
    assert run["status"] == "succeeded", run
    assert run["commands"] > 40
    run_id = run["run_id"]

    listed = roster(stack, "runs", "--json", "--directory", "kc", token=operator)
    assert listed.returncode == 0, listed.stderr.decode()
    assert run_id in [r["run_id"] for r in json.loads(listed.stdout)]
    table = roster(stack, "runs", token=operator)
    assert run_id in table.stdout.decode()

    printed = roster(stack, "results", run_id, "--json", token=operator)
    assert printed.returncode == 0, printed.stderr.decode()
    download = httpx.get(
        f"{stack.api}/api/v1/runs/{run_id}/results/download",
        headers=stack.api_headers,
        timeout=60,
    )
    assert download.status_code == 200
    assert printed.stdout == download.content
    assert len(json.loads(printed.stdout)) == run["commands"]


def test_tokens_are_required_and_roles_enforced(stack: Stack) -> None:
    assert httpx.get(f"{stack.api}/api/v1/runs", timeout=30).status_code == 401
    assert httpx.post(f"{stack.api}/api/v1/syncs", json={"directory": "kc"}).status_code == 401
    anonymous = roster(stack, "runs", token=None)
    assert anonymous.returncode == 1
    assert "ROSTER_API_TOKEN" in anonymous.stderr.decode()
    assert anonymous.stderr.decode().strip().count("\n") == 0

    viewer = os.environ.get(VIEWER_TOKEN_ENV, SECRETS[VIEWER_TOKEN_ENV])
    assert roster(stack, "runs", "--json", token=viewer).returncode == 0
    refused = roster(stack, "sync", "-d", "kc", token=viewer)
    assert refused.returncode == 1
    assert "403 forbidden" in refused.stderr.decode()
    assert roster(stack, "runs", "--json", token=viewer).stdout.strip() == b"[]"

    login = httpx.post(f"{stack.api}/ui/login", data={"token": stack.operator_token}, timeout=30)
    assert login.status_code == 303
    assert login.headers["location"] == "/ui/"
