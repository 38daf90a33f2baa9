"""The simulator's delta rounds and subscriptions behave like Graph's (idp-apis.md §1.4–1.5):
nextLinks until a deltaLink, `@removed` reasons, `$deltatoken=latest`, 400
`syncStateNotFound` after 7 days, 410 after a reset; subscriptions need the validation
handshake, are capped at 41,760 minutes, renew, notify and send lifecycle events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from entra_sim_helpers import FakeClock, bearer, client, make_app, walk
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from roster.simulators.common.serving import Servers
from roster.simulators.entra import EntraSimulator
from roster.simulators.entra.subscriptions import format_time


async def test_delta_round_then_changes_with_removed_reasons(
    http: httpx.AsyncClient, app: EntraSimulator, auth: dict[str, str]
) -> None:
    app.state.config.delta_page_size = 40
    items, last = await walk(http, "/v1.0/users/delta", auth, {"$select": "userPrincipalName"})
    assert len(items) == 150
    assert set(items[0]) == {"id", "userPrincipalName"}
    link = last["@odata.deltaLink"]
    assert "@odata.nextLink" not in last
    users = [u["id"] for u in items]
    await http.patch(f"/_sim/users/{users[0]}", json={"displayName": "Other"})
    await http.delete(f"/_sim/users/{users[1]}")
    await http.delete(f"/_sim/users/{users[2]}", params={"permanent": "true"})
    changed, last = await walk(http, link, auth)
    by_id = {c["id"]: c for c in changed}
    assert set(by_id) == set(users[:3])
    assert by_id[users[1]]["@removed"] == {"reason": "changed"}
    assert by_id[users[2]]["@removed"] == {"reason": "deleted"}
    again, _ = await walk(http, last["@odata.deltaLink"], auth)
    assert again == []


async def test_groups_delta_members_and_latest(
    http: httpx.AsyncClient, app: EntraSimulator, auth: dict[str, str]
) -> None:
    latest = (await http.get("/v1.0/groups/delta", params={"$deltatoken": "latest",
              "$select": "displayName,members"}, headers=auth)).json()  # fmt: skip
    assert latest["value"] == []
    view = (await http.get("/_sim/directory")).json()
    group, member = view["groups"][3]["id"], view["memberships"][view["groups"][3]["id"]][0]
    await http.delete(f"/_sim/groups/{group}/members/{member}")
    changed, _ = await walk(http, latest["@odata.deltaLink"], auth)
    gone = {"reason": "deleted"}
    ref = {"@odata.type": "#microsoft.graph.user", "id": member, "@removed": gone}
    assert changed == [{"id": group, "members@delta": [ref]}]
    refused = await http.get("/v1.0/groups/delta", params={"$top": 5}, headers=auth)
    assert refused.status_code == 400


async def test_expired_and_reset_delta_tokens(clock: FakeClock) -> None:
    app = make_app(clock)
    async with client(app) as http:
        auth = await bearer(http, app)
        _, last = await walk(http, "/v1.0/users/delta", auth)
        link = last["@odata.deltaLink"]
        clock.advance(7 * 24 * 3600 + 1)
        auth = await bearer(http, app)
        expired = await http.get(link, headers=auth)
        assert expired.status_code == 400
        assert expired.json()["error"]["code"] == "syncStateNotFound"
        _, last = await walk(http, "/v1.0/users/delta", auth, {"$deltatoken": "latest"})
        await http.post("/_sim/delta/reset")
        gone = await http.get(last["@odata.deltaLink"], headers=auth)
        assert gone.status_code == 410
        assert gone.headers["Location"].endswith("/users/delta")


class Receiver:
    """A client endpoint: echoes validation tokens (or refuses to) and records POSTs."""

    def __init__(self, *, echo: bool = True) -> None:
        self.echo = echo
        self.posts: list[dict[str, Any]] = []
        self.app = FastAPI()

        @self.app.post("/hook")
        @self.app.post("/hook/lifecycle")
        async def hook(request: Request) -> Response:
            token = request.query_params.get("validationToken")
            if token is not None:
                return PlainTextResponse(token if self.echo else "wrong")
            self.posts.append({"path": request.url.path, "body": await request.json()})
            return Response(status_code=202)


@pytest.fixture
async def servers() -> Any:
    running = Servers()
    yield running
    await running.close()


async def subscribe(
    http: httpx.AsyncClient, auth: dict[str, str], url: str, clock: FakeClock, **extra: Any
) -> httpx.Response:
    body = {"changeType": "updated,deleted", "notificationUrl": f"{url}/hook",
            "lifecycleNotificationUrl": f"{url}/hook/lifecycle", "resource": "/users",
            "expirationDateTime": format_time(clock() + 3600), "clientState": "s3cret",
            **extra}  # fmt: skip
    return await http.post("/v1.0/subscriptions", json=body, headers=auth)


async def test_subscription_needs_the_handshake_and_respects_limits(
    http: httpx.AsyncClient, auth: dict[str, str], clock: FakeClock, servers: Servers
) -> None:
    refusing = await servers.start(Receiver(echo=False).app)
    failed = await subscribe(http, auth, refusing, clock)
    assert failed.status_code == 400
    assert failed.json()["error"]["code"] == "ValidationError"
    good = await servers.start(Receiver().app)
    too_long = await subscribe(
        http, auth, good, clock, expirationDateTime=format_time(clock() + 41761 * 60)
    )
    assert too_long.status_code == 400
    created = await subscribe(http, auth, good, clock)
    assert created.status_code == 201
    sub = created.json()
    later = {"expirationDateTime": format_time(clock() + 7200)}
    renewed = await http.patch(f"/v1.0/subscriptions/{sub['id']}", headers=auth, json=later)
    assert renewed.json()["expirationDateTime"] > sub["expirationDateTime"]
    clock.advance(7201)
    auth = await bearer(http, app_of(http))
    gone = await http.patch(f"/v1.0/subscriptions/{sub['id']}", headers=auth,
                            json={"expirationDateTime": format_time(clock() + 60)})  # fmt: skip
    assert gone.status_code == 404


def app_of(http: httpx.AsyncClient) -> Any:
    transport = http._transport  # noqa: SLF001 - the test's own client
    assert isinstance(transport, httpx.ASGITransport)
    return transport.app


async def test_changes_are_notified_and_lifecycle_events_sent(
    http: httpx.AsyncClient, app: EntraSimulator, auth: dict[str, str], clock: FakeClock,
    servers: Servers,
) -> None:  # fmt: skip
    receiver = Receiver()
    url = await servers.start(receiver.app)
    sub = (await subscribe(http, auth, url, clock)).json()
    view = (await http.get("/_sim/directory")).json()
    user = view["users"][0]["id"]
    await http.patch(f"/_sim/users/{user}", json={"accountEnabled": False})
    await http.delete(f"/_sim/users/{user}")
    await http.patch(f"/_sim/groups/{view['groups'][0]['id']}", json={"displayName": "x"})
    notes = [p["body"]["value"][0] for p in receiver.posts if p["path"] == "/hook"]
    assert [(n["changeType"], n["resource"]) for n in notes] == [
        ("updated", f"Users/{user}"), ("deleted", f"Users/{user}")]  # fmt: skip
    assert all(n["clientState"] == "s3cret" and n["subscriptionId"] == sub["id"] for n in notes)
    sent = await http.post(f"/_sim/subscriptions/{sub['id']}/lifecycle",
                           json={"event": "subscriptionRemoved"})  # fmt: skip
    assert sent.json() == {"status": 202}
    life = receiver.posts[-1]
    assert life["path"] == "/hook/lifecycle"
    assert life["body"]["value"][0]["lifecycleEvent"] == "subscriptionRemoved"
    assert (await http.get("/_sim/subscriptions")).json() == []
