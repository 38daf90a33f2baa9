"""The simulator answers in the shape of the golden Graph samples (same keys, nested the
same way), and every sample round-trips through JSON unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from entra_sim_helpers import FakeClock, make_app, token

from roster.simulators.entra import EntraSimulator
from roster.simulators.entra.subscriptions import format_time

GOLDEN = Path(__file__).parent / "golden"
USER_SELECT = (
    "id,userPrincipalName,mail,givenName,surname,displayName,accountEnabled,"
    "department,jobTitle,employeeId,userType"
)


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def shape(value: Any) -> Any:
    """Keys and nesting only: what a parser depends on."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.name)
def test_golden_round_trip(path: Path) -> None:
    data = json.loads(path.read_text())
    assert json.loads(json.dumps(data)) == data
    assert data


async def test_pages_have_the_golden_shape(
    http: httpx.AsyncClient, app: EntraSimulator, auth: dict[str, str]
) -> None:
    users = (await http.get("/v1.0/users", headers=auth,
             params={"$select": USER_SELECT, "$top": 2})).json()  # fmt: skip
    want = golden("graph-v1.0.users-page.json")
    assert set(users) == set(want)
    assert shape(users["value"][0]) == shape(want["value"][0])
    groups = (await http.get("/v1.0/groups", headers=auth,
              params={"$select": "id,displayName,description"})).json()  # fmt: skip
    assert shape(groups["value"][0]) == shape(golden("graph-v1.0.groups-page.json")["value"][0])
    group = groups["value"][0]["id"]
    members = (await http.get(f"/v1.0/groups/{group}/members", headers=auth,
               params={"$select": "id"})).json()  # fmt: skip
    want_member = golden("graph-v1.0.group-members-page.json")["value"][0]
    assert shape(members["value"][0]) == shape(want_member)


async def test_delta_pages_have_the_golden_shape(
    http: httpx.AsyncClient, app: EntraSimulator, auth: dict[str, str]
) -> None:
    select = "userPrincipalName,mail,givenName,surname,displayName,accountEnabled"
    start = (await http.get("/v1.0/users/delta", headers=auth,
             params={"$select": select, "$deltatoken": "latest"})).json()  # fmt: skip
    view = (await http.get("/_sim/directory")).json()
    await http.patch(f"/_sim/users/{view['users'][0]['id']}", json={"displayName": "A V"})
    await http.delete(f"/_sim/users/{view['users'][1]['id']}")
    page = (await http.get(start["@odata.deltaLink"], headers=auth)).json()
    want = golden("graph-v1.0.users-delta-page.json")
    assert set(page) == set(want)
    assert shape(page["value"][0]) == shape(want["value"][0])
    assert shape(page["value"][1]) == shape(want["value"][1])
    groups = (await http.get("/v1.0/groups/delta", headers=auth,
              params={"$select": "displayName,description,members"})).json()  # fmt: skip
    want_groups = golden("graph-v1.0.groups-delta-page.json")
    first = next(g for g in groups["value"] if g["members@delta"])
    assert shape(first) == shape(want_groups["value"][0])


async def test_token_and_errors_have_the_golden_shape(
    http: httpx.AsyncClient, app: EntraSimulator, clock: FakeClock
) -> None:
    good = (await token(http, app)).json()
    assert shape(good) == shape(golden("entra-v2.0.token.json"))
    bad = (await token(http, app, client_secret="x")).json()
    assert shape(bad) == shape(golden("entra-v2.0.error-invalid-client.json"))
    auth = {"Authorization": f"Bearer {good['access_token']}"}
    _ = (await http.get("/v1.0/users/delta", headers=auth)).json()
    link = (await http.get("/v1.0/users/delta", headers=auth,
            params={"$deltatoken": "latest"})).json()["@odata.deltaLink"]  # fmt: skip
    clock.advance(8 * 24 * 3600)
    auth = {"Authorization": f"Bearer {(await token(http, app)).json()['access_token']}"}
    expired = (await http.get(link, headers=auth)).json()
    assert shape(expired) == shape(golden("graph-v1.0.error-sync-state-not-found.json"))
    await http.put("/_sim/throttle", json={"storm": 1})
    throttled = (await http.get("/v1.0/users", headers=auth)).json()
    assert shape(throttled) == shape(golden("graph-v1.0.error-too-many-requests.json"))


async def test_subscription_and_notifications_have_the_golden_shape(clock: FakeClock) -> None:
    posts: list[tuple[str, Any]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        token_value = request.url.params.get("validationToken")
        if token_value is not None:
            return httpx.Response(200, text=token_value, headers={"content-type": "text/plain"})
        posts.append((request.url.path, json.loads(request.content)))
        return httpx.Response(202)

    app = make_app(clock)
    app.state.subscriptions.transport = httpx.MockTransport(receive)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://graph.sim") as http:
        auth = {"Authorization": f"Bearer {(await token(http, app)).json()['access_token']}"}
        body = {"changeType": "updated,deleted", "resource": "/users", "clientState": "c",
                "notificationUrl": "https://roster.test/hook",
                "lifecycleNotificationUrl": "https://roster.test/hook/lifecycle",
                "expirationDateTime": format_time(clock() + 3600)}  # fmt: skip
        sub = (await http.post("/v1.0/subscriptions", json=body, headers=auth)).json()
        assert shape(sub) == shape(golden("graph-v1.0.subscription.json"))
        user = (await http.get("/_sim/directory")).json()["users"][0]["id"]
        await http.patch(f"/_sim/users/{user}", json={"displayName": "N"})
        await http.post(f"/_sim/subscriptions/{sub['id']}/lifecycle",
                        json={"event": "reauthorizationRequired"})  # fmt: skip
    assert shape(posts[0][1]) == shape(golden("graph-v1.0.change-notification.json"))
    assert shape(posts[1][1]) == shape(golden("graph-v1.0.lifecycle-notification.json"))
