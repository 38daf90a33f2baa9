"""The local stack's Roster part: simulators and the four services as background processes.

Kafka and Redis come from `scripts/stack.sh`. `up` writes the demo configuration to
`.stack/roster.yaml`, starts the Confluence and Keycloak simulators and the services (logs in
`.stack/logs/`), waits until every service's `/readyz` answers 200 and prints the URLs;
`down` stops them. The scheduler's admin API and UI accept two demo tokens, `demo-operator`
and `demo-viewer` (ROSTER_OPERATOR_TOKEN / ROSTER_VIEWER_TOKEN override them); scripts call
the API with `api_headers()` (the operator's bearer). Used by `make up` / `make down`, the
demo and the end-to-end tests.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, os.path.dirname(__file__))
from demo_idps import IdpPlugin, plugin

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {"CONFLUENCE_PASSWORD": "admin"}
SCIM_TOKEN_ENV = "ROSTER_SCIM_TOKEN"
SCIM_DEMO_TOKEN = "roster-demo-scim-token-4c7e1f"
"""Demo bearer token of the `scim` directory (override with ROSTER_SCIM_TOKEN)."""
SECRETS[SCIM_TOKEN_ENV] = SCIM_DEMO_TOKEN
OPERATOR_TOKEN_ENV, VIEWER_TOKEN_ENV = "ROSTER_OPERATOR_TOKEN", "ROSTER_VIEWER_TOKEN"
SECRETS[OPERATOR_TOKEN_ENV] = "demo-operator"
SECRETS[VIEWER_TOKEN_ENV] = "demo-viewer"
"""The admin API's demo tokens (override with ROSTER_OPERATOR_TOKEN / ROSTER_VIEWER_TOKEN)."""
API_TOKENS = [
    {"name": "demo-operator", "role": "operator", "token": {"env": OPERATOR_TOKEN_ENV}},
    {"name": "demo-viewer", "role": "viewer", "token": {"env": VIEWER_TOKEN_ENV}},
]


def operator_token() -> str:
    """The operator's admin API token, as the services get it (environment first)."""
    return os.environ.get(OPERATOR_TOKEN_ENV, SECRETS[OPERATOR_TOKEN_ENV])


def api_headers() -> dict[str, str]:
    """Headers of a scheduler admin API call as the demo operator."""
    return {"Authorization": f"Bearer {operator_token()}"}


def shown_token() -> str:
    """The operator token as `up` prints it: the demo default, or the variable's name when
    ROSTER_OPERATOR_TOKEN overrides it (a chosen token is not printed)."""
    token = operator_token()
    return token if token == SECRETS[OPERATOR_TOKEN_ENV] else f"${OPERATOR_TOKEN_ENV}"


DEMO_SCHEDULE: dict[str, object] = {"full": "0 2 * * *", "delta": "*/30 * * * *"}
"""`make up`'s schedule of the IdP directory: a full sync nightly, a delta every 30 min."""
SCIM_DIRECTORY = {"id": "scim", "kind": "scim", "scim": {"tokens": [{"env": SCIM_TOKEN_ENV}]}}


@dataclass
class Stack:
    """Where one stack lives: ports, prefixes and its state folder."""

    state: Path = ROOT / ".stack"
    confluence_port: int = 8090
    keycloak_port: int = 8091
    """The IdP simulator's port (whichever IdP: see `idp`)."""
    idp: str = "keycloak"
    """Which `scripts/demo_idps/<idp>.py` simulator and directory kind the stack runs."""
    directory_id: str = "kc"
    service_ports: dict[str, int] = field(
        default_factory=lambda: {
            "scheduler": 8100,
            "fetcher": 8101,
            "reconciler": 8102,
            "confluence-writer": 8103,
        }
    )
    confluence_version: str = "8.4"
    users: int = 1000
    groups: int = 50
    memberships: int = 5000
    topic_prefix: str = ""
    key_prefix: str = "roster:"
    schedule: dict[str, object] | None = None
    """The IdP directory's cron schedule (`make up` shows one; tests and demos have none,
    so no scheduled sync races them)."""
    confluence_url: str | None = None
    """A real Confluence to use instead of the simulator."""

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    @property
    def config_path(self) -> Path:
        return self.state / "roster.yaml"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.service_ports['scheduler']}"

    @property
    def confluence(self) -> str:
        return self.confluence_url or f"http://127.0.0.1:{self.confluence_port}"

    @property
    def keycloak(self) -> str:
        return f"http://127.0.0.1:{self.keycloak_port}"

    @property
    def idp_port(self) -> int:
        return self.keycloak_port

    @property
    def idp_url(self) -> str:
        return f"http://127.0.0.1:{self.idp_port}"

    @property
    def plugin(self) -> IdpPlugin:
        return plugin(self.idp)

    @property
    def secrets(self) -> dict[str, str]:
        return {**SECRETS, **self.plugin.secrets}

    @property
    def operator_token(self) -> str:
        return operator_token()

    @property
    def api_headers(self) -> dict[str, str]:
        """Headers of a scheduler admin API call as the demo operator."""
        return api_headers()

    def _idp_directory(self) -> dict[str, object]:
        directory = dict(self.plugin.directory(self))
        if self.schedule:
            directory["schedule"] = self.schedule
        return directory

    def config(self) -> dict[str, object]:
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0")
        auth: dict[str, object] = {"username": "admin", "password": {"env": "CONFLUENCE_PASSWORD"}}
        if os.environ.get("CONFLUENCE_TOKEN"):
            auth = {"token": {"env": "CONFLUENCE_TOKEN"}}
        elif os.environ.get("CONFLUENCE_USER"):
            auth = {
                "username": os.environ["CONFLUENCE_USER"],
                "password": {"env": "CONFLUENCE_PASSWORD"},
            }
        http: dict[str, dict[str, object]] = {
            name: {"http": {"port": port}} for name, port in self.service_ports.items()
        }
        writer = http.pop("confluence-writer")
        http["scheduler"]["auth"] = {"tokens": API_TOKENS}
        http["scheduler"]["fetcher_url"] = f"http://127.0.0.1:{self.service_ports['fetcher']}"
        return {
            "kafka": {"bootstrap_servers": kafka, "topic_prefix": self.topic_prefix},
            "redis": {"url": redis_url, "key_prefix": self.key_prefix},
            "confluence": {"url": self.confluence, "auth": auth},
            "directories": [self._idp_directory(), SCIM_DIRECTORY],
            "writer": writer,
            **http,
        }

    def commands(self) -> dict[str, list[str]]:
        py = [sys.executable, "-m"]
        cfg = ["--config", str(self.config_path)]
        commands = {
            f"{self.idp}-sim": self.plugin.command(self),
            "fetcher": [*py, "roster.fetcher", *cfg],
            "reconciler": [*py, "roster.reconciler", *cfg],
            "confluence-writer": [*py, "roster.writer", *cfg],
            "scheduler": [*py, "roster.scheduler", *cfg],
        }  # fmt: skip
        if self.confluence_url is None:
            commands["confluence-sim"] = [
                *py, "roster.simulators.confluence", "--port", str(self.confluence_port),
                "--version", self.confluence_version,
            ]  # fmt: skip
        return commands


def start_process(stack: Stack, name: str, command: list[str]) -> int:
    env = {**stack.secrets, **os.environ}
    log = (stack.logs / f"{name}.log").open("ab")
    process = subprocess.Popen(command, stdout=log, stderr=log, env=env, start_new_session=True)
    (stack.pids / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def stop_process(stack: Stack, name: str, sig: int = signal.SIGTERM) -> None:
    pid_file = stack.pids / f"{name}.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
            os.waitpid(pid, os.WNOHANG)
        except (ProcessLookupError, ChildProcessError):
            break
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def wait_ready(url: str, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code < 300:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready at {url} after {timeout:.0f} s: {last}")


def up(stack: Stack) -> None:
    stack.logs.mkdir(parents=True, exist_ok=True)
    stack.pids.mkdir(parents=True, exist_ok=True)
    stack.config_path.write_text(yaml.safe_dump(stack.config(), sort_keys=False))
    down(stack)
    for name, command in stack.commands().items():
        start_process(stack, name, command)
    if stack.confluence_url is None:
        wait_ready(f"{stack.confluence}/rest/applinks/1.0/manifest", "confluence simulator")
    wait_ready(f"{stack.idp_url}{stack.plugin.ready_path}", f"{stack.idp} simulator")
    for name, port in stack.service_ports.items():
        wait_ready(f"http://127.0.0.1:{port}/readyz", name, timeout=90)


def down(stack: Stack) -> None:
    for name in stack.commands():
        stop_process(stack, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["up", "down"])
    args = parser.parse_args()
    stack = Stack(
        confluence_version=os.environ.get("CONFLUENCE_VERSION", "8.4"),
        users=int(os.environ.get("USERS", "1000")),
        confluence_url=os.environ.get("CONFLUENCE_URL") or None,
        idp=os.environ.get("IDP", "keycloak"),
        schedule=DEMO_SCHEDULE,
    )
    if args.action == "down":
        down(stack)
        return
    up(stack)
    token = shown_token()
    print(f"admin API     {stack.api}/api/v1/runs  (Authorization: Bearer {token})")
    print(f"admin UI      {stack.api}/ui/  (token: {token})")
    print(f"confluence    {stack.confluence}")
    for label, url in stack.plugin.urls(stack).items():
        print(f"{label:<13} {url}")
    for name, port in stack.service_ports.items():
        print(f"{name:<13} http://127.0.0.1:{port}/metrics")
    scim_token = os.environ.get(SCIM_TOKEN_ENV, SCIM_DEMO_TOKEN)
    fetcher_url = f"http://127.0.0.1:{stack.service_ports['fetcher']}"
    print(f"scim          {fetcher_url}/scim/v2  (Authorization: Bearer {scim_token})")
    print(f"logs          {stack.logs}")
    print(f"roster CLI    export ROSTER_API_TOKEN={token}")


if __name__ == "__main__":
    main()
