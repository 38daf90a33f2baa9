"""Two Keycloak directories feeding one Confluence through the real services.

Processes as `make up` starts them (two Keycloak simulators, the Confluence simulator, the
four services) with a configuration of its own: directories `corp` (first in
`confluence.directory_precedence`) and `partner`, whose logins `JDOE@partner.example` are
turned into Confluence usernames by a CEL rule. One person exists in both IdPs; renames in
both IdPs must keep the one Confluence account and its user key, and the display name must
follow corp, whichever directory synced first or last.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from demo import sync  # noqa: E402
from e2e_support import free_ports  # noqa: E402
from localstack import Stack, start_process, stop_process, wait_ready  # noqa: E402

SECRET = "multi-secret"
DIRECTORIES = ("corp", "partner")
SERVICES = ("scheduler", "fetcher", "reconciler", "confluence-writer")
MODULES = {
    "scheduler": "roster.scheduler",
    "fetcher": "roster.fetcher",
    "reconciler": "roster.reconciler",
    "confluence-writer": "roster.writer",
}


class MultiStack:
    """One Confluence simulator, one Keycloak simulator per directory, the four services."""

    def __init__(self, state: Path) -> None:
        ports = free_ports(3 + len(SERVICES))
        tag = uuid.uuid4().hex[:8]
        self.base = Stack(
            state=state,
            confluence_port=ports[0],
            service_ports=dict(zip(SERVICES, ports[3:], strict=True)),
            topic_prefix=f"e2e-multi-{tag}.",
            key_prefix=f"e2e-multi-{tag}:",
        )
        self.idp_ports = dict(zip(DIRECTORIES, ports[1:3], strict=True))

    def idp(self, directory: str) -> str:
        return f"http://127.0.0.1:{self.idp_ports[directory]}"

    def directory(self, directory: str) -> dict[str, Any]:
        return {
            "id": directory,
            "kind": "keycloak",
            "keycloak": {
                "base_url": self.idp(directory),
                "realm": "roster",
                "client_id": "roster-sync",
                "client_secret": {"env": "KEYCLOAK_CLIENT_SECRET"},
            },
        }

    def config(self) -> dict[str, Any]:
        config = self.base.config()
        partner = self.directory("partner")
        partner["attributes"] = {
            "username": {"expr": "lower(strip_domain(login))"},
            "display_name": {"expr": "join([given_name, family_name], ' ') + ' (partner)'"},
        }
        config["directories"] = [self.directory("corp"), partner]
        config["confluence"]["directory_precedence"] = list(DIRECTORIES)
        return config

    def commands(self) -> dict[str, list[str]]:
        py = [sys.executable, "-m"]
        cfg = ["--config", str(self.base.config_path)]
        commands = {
            f"kc-{d}-sim": [
                *py, "roster.simulators.keycloak", "--port", str(self.idp_ports[d]),
                "--client-secret", SECRET, "--users", "0", "--groups", "0", "--memberships", "0",
            ]
            for d in DIRECTORIES
        }  # fmt: skip
        commands["confluence-sim"] = [
            *py, "roster.simulators.confluence", "--port", str(self.base.confluence_port),
            "--version", "8.4",
        ]  # fmt: skip
        for name in SERVICES:
            commands[name] = [*py, MODULES[name], *cfg]
        return commands

    def up(self) -> None:
        self.base.logs.mkdir(parents=True, exist_ok=True)
        self.base.pids.mkdir(parents=True, exist_ok=True)
        self.base.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        for name, command in self.commands().items():
            start_process(self.base, name, command)
        wait_ready(f"{self.base.confluence}/rest/applinks/1.0/manifest", "confluence simulator")
        for d in DIRECTORIES:
            wait_ready(f"{self.idp(d)}/_sim/faults", f"keycloak simulator {d}")
        for name, port in self.base.service_ports.items():
            wait_ready(f"http://127.0.0.1:{port}/readyz", name, timeout=90)

    def down(self) -> None:
        for name in self.commands():
            stop_process(self.base, name)


@pytest.fixture
def multi(
    tmp_path: Path, stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[MultiStack]:
    monkeypatch.setenv("KEYCLOAK_CLIENT_SECRET", SECRET)
    stack = MultiStack(tmp_path)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def _add_user(stack: MultiStack, directory: str, user: dict[str, Any]) -> None:
    httpx.post(f"{stack.idp(directory)}/_sim/users", json=user, timeout=30).raise_for_status()


def _patch_user(stack: MultiStack, directory: str, uid: str, patch: dict[str, Any]) -> None:
    url = f"{stack.idp(directory)}/_sim/users/{uid}"
    httpx.patch(url, json=patch, timeout=30).raise_for_status()


def _accounts(stack: MultiStack) -> dict[str, dict[str, Any]]:
    state = httpx.get(f"{stack.base.confluence}/_sim/state", timeout=30).json()
    return {u["username"]: u for u in state["users"]}


def _synced(stack: MultiStack, directory: str) -> dict[str, Any]:
    run = sync(stack.base.api, directory, timeout=180)
    assert run["status"] == "succeeded", run
    return run


def test_two_directories_one_account_through_renames_with_precedence(multi: MultiStack) -> None:
    _add_user(multi, "corp", {"id": "c-1", "username": "jdoe", "firstName": "Jane",
                              "lastName": "Doe", "email": "jane.doe@corp.example"})  # fmt: skip
    _add_user(multi, "corp", {"id": "c-2", "username": "alice", "firstName": "Alice",
                              "lastName": "Corp", "email": "alice@corp.example"})  # fmt: skip
    _add_user(multi, "partner", {"id": "p-1", "username": "JDOE@partner.example",
                                 "firstName": "Jane", "lastName": "Doe",
                                 "email": "jane.doe@corp.example"})  # fmt: skip

    for n in range(3):  # others, so losing Jane is no sharp shrink for the safety net
        _add_user(multi, "partner", {"id": f"p-x{n}", "username": f"P{n}@partner.example",
                                     "firstName": "P", "lastName": str(n),
                                     "email": f"p{n}@partner.example"})  # fmt: skip
    for n in range(2):
        _add_user(multi, "corp", {"id": f"c-x{n}", "username": f"c{n}", "firstName": "C",
                                  "lastName": str(n), "email": f"c{n}@corp.example"})  # fmt: skip

    # the lower-precedence directory creates the account, through its transformation rule
    first = _synced(multi, "partner")
    assert first["summary"]["create_users"] == 4
    accounts = _accounts(multi)
    assert accounts["jdoe"]["displayName"] == "Jane Doe (partner)"
    user_key = accounts["jdoe"]["userKey"]

    # corp comes first in precedence: its display name wins; the account stays partner's link
    second = _synced(multi, "corp")
    assert second["summary"]["create_users"] == 3  # alice, c0, c1
    assert second["summary"]["update_users"] == 1  # jdoe's display name
    assert _accounts(multi)["jdoe"]["displayName"] == "Jane Doe"

    # partner again: corp's claim decides, nothing flips back
    third = _synced(multi, "partner")
    assert third["commands"] == 0

    # renames in both IdPs (same ids, new logins), and a new first name in corp
    _patch_user(multi, "corp", "c-1", {"username": "jane.doe", "firstName": "Janet"})
    _patch_user(multi, "partner", "p-1", {"username": "Jane.D@partner.example"})
    renamed_corp = _synced(multi, "corp")
    assert renamed_corp["summary"]["create_users"] == 0
    assert renamed_corp["summary"]["update_users"] == 1
    renamed_partner = _synced(multi, "partner")
    assert renamed_partner["summary"]["create_users"] == 0
    assert renamed_partner["commands"] == 0

    accounts = _accounts(multi)
    assert sorted(accounts) == ["admin", "alice", "c0", "c1", "jdoe", "p0", "p1", "p2"]
    assert accounts["jdoe"]["userKey"] == user_key
    assert accounts["jdoe"]["displayName"] == "Janet Doe"
    assert accounts["jdoe"]["active"] is True

    # partner (the link owner) loses Jane; corp still has her in scope: the account stays
    httpx.delete(f"{multi.idp('partner')}/_sim/users/p-1", timeout=30).raise_for_status()
    kept = _synced(multi, "partner")
    assert kept["summary"]["deactivate_users"] == 0
    assert _accounts(multi)["jdoe"]["active"] is True

    # once corp has let her go too, the owner deactivates the account
    httpx.delete(f"{multi.idp('corp')}/_sim/users/c-1", timeout=30).raise_for_status()
    assert _synced(multi, "corp")["summary"]["deactivate_users"] == 0  # not corp's link
    gone = _synced(multi, "partner")
    assert gone["summary"]["deactivate_users"] == 1
    assert _accounts(multi)["jdoe"]["active"] is False
