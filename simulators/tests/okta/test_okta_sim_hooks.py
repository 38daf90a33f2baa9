"""The simulator's Event Hooks: challenge verification, authenticated deliveries, one retry
on 5xx and none on 4xx, duplicate and reversed delivery on request — against a real receiver
served over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from okta_sim_helpers import SSWS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from roster.simulators.common.serving import Servers
from roster.simulators.okta import OktaSimulator


class Receiver:
    """A hook endpoint that answers the challenge and records deliveries."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.statuses: list[int] = []
        self.echo = True

    async def get(self, request: Request) -> Response:
        challenge = request.headers.get("x-okta-verification-challenge", "")
        answer = challenge if self.echo else "wrong"
        return JSONResponse({"verification": answer})

    async def post(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.json()))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    target = Receiver()
    app = Starlette(routes=[Route("/hook", target.get, methods=["GET"]),
                            Route("/hook", target.post, methods=["POST"])])  # fmt: skip
    servers = Servers()
    url = await servers.start(app)
    yield target, url + "/hook"
    await servers.close()


async def _hook(client: httpx.AsyncClient, uri: str, items: list[str]) -> dict[str, Any]:
    auth = {"type": "HEADER", "key": "Authorization", "value": "s3"}
    config = {"uri": uri, "headers": [], "authScheme": auth}
    body = {
        "name": "t",
        "events": {"type": "EVENT_TYPE", "items": items},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": config},
    }
    created = await client.post("/api/v1/eventHooks", json=body, headers=SSWS)
    assert created.status_code == 200
    hook: dict[str, Any] = created.json()
    return hook


async def test_verification_depends_on_the_echoed_challenge(
    client: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    target, uri = receiver
    hook = await _hook(client, uri, ["user.account.update_profile"])
    assert hook["verificationStatus"] == "UNVERIFIED"
    target.echo = False
    bad = await client.post(f"/api/v1/eventHooks/{hook['id']}/lifecycle/verify", headers=SSWS)
    assert bad.status_code == 400
    target.echo = True
    good = await client.post(f"/api/v1/eventHooks/{hook['id']}/lifecycle/verify", headers=SSWS)
    assert good.json()["verificationStatus"] == "VERIFIED"


async def test_deliveries_carry_the_secret_and_retry_once_on_5xx_only(
    client: httpx.AsyncClient, app: OktaSimulator, receiver: tuple[Receiver, str]
) -> None:
    target, uri = receiver
    hook = await _hook(client, uri, ["user.account.update_profile"])
    await client.post(f"/api/v1/eventHooks/{hook['id']}/lifecycle/verify", headers=SSWS)
    user = next(iter(app.state.store.users.values()))
    target.statuses = [503, 204, 400]
    await client.patch(f"/_sim/users/{user.id}", json={"profile": {"title": "A"}})
    await app.state.hooks.drain()
    await client.patch(f"/_sim/users/{user.id}", json={"profile": {"title": "B"}})
    await app.state.hooks.drain()
    await client.patch(f"/_sim/users/{user.id}", json={"status": "SUSPENDED"})  # not subscribed
    await app.state.hooks.drain()
    assert len(target.received) == 3  # first retried once, second (400) not retried
    headers, body = target.received[0]
    assert headers["authorization"] == "s3"
    assert body["eventType"] == "com.okta.event_hook"
    assert [e["eventType"] for e in body["data"]["events"]] == ["user.account.update_profile"]
    assert target.received[0][1] == target.received[1][1]


async def test_duplicate_and_reversed_delivery(
    client: httpx.AsyncClient, app: OktaSimulator, receiver: tuple[Receiver, str]
) -> None:
    target, uri = receiver
    hook = await _hook(client, uri, ["user.account.update_profile", "user.lifecycle.suspend"])
    await client.post(f"/api/v1/eventHooks/{hook['id']}/lifecycle/verify", headers=SSWS)
    await client.put("/_sim/event-hooks/delivery", json={"duplicate": True, "reverse": True})
    user = next(iter(app.state.store.users.values()))
    body = {"profile": {"title": "C"}, "status": "SUSPENDED"}
    await client.patch(f"/_sim/users/{user.id}", json=body)
    await app.state.hooks.drain()
    assert len(target.received) == 2
    types = [e["eventType"] for e in target.received[0][1]["data"]["events"]]
    assert types == ["user.lifecycle.suspend", "user.account.update_profile"]
