"""Helpers for the Entra simulator tests (a uniquely named module, so it never clashes)."""

from __future__ import annotations

from typing import Any

import httpx

from roster.simulators.entra import EntraSimConfig, EntraSimulator, create_app

SECRET = "graph-sim-secret"
SCOPE = "https://graph.microsoft.com/.default"


class FakeClock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_app(clock: FakeClock, **overrides: Any) -> EntraSimulator:
    options: dict[str, Any] = {"client_secret": SECRET, "users": 150, "groups": 10,
                               "memberships": 600, "seed": 3, "clock": clock}  # fmt: skip
    options.update(overrides)
    return create_app(EntraSimConfig(**options))


def client(app: EntraSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://graph.sim")


async def token(http: httpx.AsyncClient, app: EntraSimulator, **form: str) -> httpx.Response:
    body = {"grant_type": "client_credentials", "client_id": app.state.config.client_id,
            "client_secret": SECRET, "scope": SCOPE, **form}  # fmt: skip
    return await http.post(f"/{app.state.config.tenant_id}/oauth2/v2.0/token", data=body)


async def bearer(http: httpx.AsyncClient, app: EntraSimulator) -> dict[str, str]:
    answer = await token(http, app)
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def walk(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], params: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every item of a paged collection (nextLinks followed) and the last page."""
    page = (await http.get(url, params=params, headers=headers)).raise_for_status().json()
    items = list(page["value"])
    while "@odata.nextLink" in page:
        page = (await http.get(page["@odata.nextLink"], headers=headers)).raise_for_status().json()
        items += page["value"]
    return items, page
