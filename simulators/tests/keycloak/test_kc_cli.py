"""`python -m roster.simulators.keycloak` over real HTTP: flags, token, paging, dropped sockets."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from roster.simulators.keycloak.__main__ import parse_args


def test_flags_become_config() -> None:
    config, host, port = parse_args(
        [
            "--host",
            "0.0.0.0",
            "--port",
            "9000",
            "--realm",
            "corp",
            "--client-id",
            "sync",
            "--client-secret",
            "s3",
            "--users",
            "10",
            "--groups",
            "2",
            "--memberships",
            "5",
            "--seed",
            "4",
            "--token-ttl",
            "60",
            "--no-admin-events",
        ]
    )
    assert (host, port) == ("0.0.0.0", 9000)
    assert (config.realm, config.client_id, config.client_secret) == ("corp", "sync", "s3")
    assert (config.users, config.groups, config.memberships, config.seed) == (10, 2, 5, 4)
    assert config.token_ttl == 60
    assert config.admin_events is False
    assert config.base_url == "http://0.0.0.0:9000"


def test_client_secret_is_required() -> None:
    with pytest.raises(SystemExit):
        parse_args([])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "roster.simulators.keycloak",
            "--port",
            str(port),
            "--client-secret",
            "cli-secret",
            "--users",
            "120",
            "--groups",
            "8",
            "--memberships",
            "300",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/_sim/token-ttl", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("simulator did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_token_and_paging_over_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5) as client:
        token = client.post(
            "/realms/roster/protocol/openid-connect/token",
            data={"grant_type": "client_credentials"},
            auth=("roster-sync", "cli-secret"),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        seen: list[str] = []
        while True:
            page = client.get(
                "/admin/realms/roster/users",
                params={"first": len(seen), "max": 50},
                headers=headers,
            ).json()
            seen += [u["id"] for u in page]
            if len(page) < 50:
                break
        assert len(seen) == len(set(seen)) == 120


def test_dropped_connection_over_http(server: str) -> None:
    with httpx.Client(base_url=server, timeout=5) as client:
        client.put("/_sim/faults", json={"drop_rate": 1.0})
        try:
            with pytest.raises(httpx.RemoteProtocolError):
                client.get("/admin/realms/roster/users/count")
        finally:
            client.put("/_sim/faults", json={})
        assert client.get("/_sim/requests").json()[-1]["effect"] == "dropped"
