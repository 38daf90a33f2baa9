"""The Keycloak connector over real TCP: the simulator under uvicorn, dropped connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fetcher_support import (
    SECRET,
    assert_same_directory,
    collect,
    directory_settings,
    expected_from,
    hooks,
)

from roster.fetcher.connectors.keycloak import KeycloakConnector
from roster.shared.errors import TransientError
from roster.simulators.keycloak import KeycloakSimConfig, create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def served_sim() -> AsyncIterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(
        KeycloakSimConfig(
            client_secret=SECRET, users=450, groups=12, memberships=2000, seed=9, base_url=base
        )
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "simulator did not start"
    try:
        yield base
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_snapshot_over_tcp_survives_dropped_connections(served_sim: str) -> None:
    async with (
        httpx.AsyncClient(base_url=served_sim, timeout=10) as ctl,
        httpx.AsyncClient(timeout=10) as http,
    ):
        faults = {"drop_rate": 0.1, "error_rate": 0.1, "error_status": 502, "seed": 3}
        assert (await ctl.put("/_sim/faults", json=faults)).status_code == 200
        connector = KeycloakConnector(directory_settings(base_url=served_sim), http, hooks())
        snap = await collect(connector)
        directory = (await ctl.get("/_sim/directory")).json()
        log = (await ctl.get("/_sim/requests")).json()
    assert_same_directory(snap, expected_from(directory))
    assert any(e["effect"] == "dropped" for e in log)
    assert any(e["status"] == 502 for e in log)


async def test_nothing_listening_is_transient_and_names_the_server() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    async with httpx.AsyncClient(timeout=2) as http:
        connector = KeycloakConnector(directory_settings(base_url=base), http, hooks(attempts=2))
        with pytest.raises(
            TransientError, match=f"cannot reach Keycloak at {base}.*gave up after 2"
        ):
            await collect(connector)
