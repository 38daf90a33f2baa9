"""Helpers for the Google connector tests: the simulator in-process, a key file, a connector."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fetcher_support import FakeClock, FakeSleep, hooks

from roster.fetcher.connectors.google import GoogleConnector
from roster.shared.config import DirectorySettings
from roster.simulators.google import GoogleSimConfig, GoogleSimulator, create_app

BASE_URL = "http://google.test"
ADMIN = "admin@example.com"


def make_sim(clock: FakeClock | None = None, **overrides: Any) -> GoogleSimulator:
    options: dict[str, Any] = {
        "users": 120,
        "groups": 12,
        "memberships": 500,
        "seed": 7,
        "base_url": BASE_URL,
    }
    if clock is not None:
        options["clock"] = clock
    options.update(overrides)
    return create_app(GoogleSimConfig(**options))


def write_key(sim: GoogleSimulator, path: Path) -> Path:
    path.write_text(json.dumps(sim.state.key_file()))
    return path


def google_directory(
    key_file: Path, *, directory: str = "gw", subject: str = ADMIN, **google: Any
) -> DirectorySettings:
    return DirectorySettings.model_validate(
        {
            "id": directory,
            "kind": "google",
            "google": {
                "credentials": {"file": str(key_file)},
                "subject": subject,
                "base_url": BASE_URL,
                **google,
            },
        }
    )


@dataclass
class Setup:
    sim: GoogleSimulator
    ctl: httpx.AsyncClient
    connector: GoogleConnector
    clock: FakeClock
    sleep: FakeSleep

    async def sim_get(self, path: str) -> Any:
        response = await self.ctl.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    async def sim_send(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.ctl.request(method, path, json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    async def requests(self, **match: Any) -> list[dict[str, Any]]:
        entries = await self.sim_get("/_sim/requests")
        return [e for e in entries if all(e.get(k) == v for k, v in match.items())]


def asgi(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


def connector_on(
    sim: GoogleSimulator,
    settings: DirectorySettings,
    client: httpx.AsyncClient,
    clock: FakeClock,
    sleep: FakeSleep,
    attempts: int = 6,
) -> GoogleConnector:
    return GoogleConnector(
        settings, client, hooks(clock=clock, sleep=sleep, attempts=attempts), wall_clock=clock
    )
