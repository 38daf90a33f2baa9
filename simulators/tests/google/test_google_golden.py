"""The simulator's responses have the keys of the Admin SDK samples in `golden/`, recursively."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from google_sim_helpers import ACTIVITIES, DIRECTORY, Api, FakeClock, assertion, token_response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from roster.simulators.common.serving import Servers
from roster.simulators.google import GoogleSimulator

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def shape(value: Any) -> Any:
    """Keys, recursively; lists merge the shapes of their items; scalars become None."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in value:
            s = shape(item)
            if isinstance(s, dict):
                merged.update(s)
        return [merged] if merged else []
    return None


def with_example_user_fields(app: GoogleSimulator) -> None:
    """One suspended user so the listing shows `suspensionReason` like the sample."""
    user = next(u for u in app.state.store.users.values() if not u.is_admin)
    user.suspended = True


async def test_users_list(api: Api, app: GoogleSimulator) -> None:
    with_example_user_fields(app)
    body = (await api.get(f"{DIRECTORY}/users", customer="my_customer", projection="full",
                          maxResults=500)).json()  # fmt: skip
    body["nextPageToken"] = "x"  # one page holds this small directory
    assert shape(body) == shape(golden("google.directory.users.list.json"))


async def test_empty_last_page_has_no_items_and_no_token(api: Api) -> None:
    body = (await api.get(f"{DIRECTORY}/users", domain="nobody.example.net")).json()
    assert shape(body) == shape(golden("google.directory.users.list.last-empty.json"))


async def test_groups_and_members(api: Api, app: GoogleSimulator) -> None:
    groups = (await api.get(f"{DIRECTORY}/groups", customer="my_customer", maxResults=5)).json()
    assert shape(groups) == shape(golden("google.directory.groups.list.json"))
    parent = next(g for g in app.state.store.groups.values()
                  if any(m in app.state.store.groups for m in g.members))  # fmt: skip
    members = (await api.get(f"{DIRECTORY}/groups/{parent.id}/members", maxResults=1)).json()
    assert members.get("nextPageToken")
    assert shape(members) == shape(golden("google.directory.members.list.json"))


async def test_activities(api: Api, client: httpx.AsyncClient, app: GoogleSimulator) -> None:
    group = next(iter(app.state.store.groups.values()))
    user = next(u for u in app.state.store.users.values() if u.id not in group.members)
    await client.put(f"/_sim/groups/{group.id}/members/{user.id}")
    await client.patch(f"/_sim/users/{user.id}", json={"family_name": "Jensen"})
    await client.put(f"/_sim/groups/{group.id}/members/{user.id}")  # no change: no event
    body = (await api.get(ACTIVITIES, maxResults=1)).json()
    assert body.get("nextPageToken")
    assert shape(body) == shape(golden("google.reports.activities.list.json"))
    # parameters named as in the sample, newest first
    first = golden("google.reports.activities.list.json")["items"]
    assert [e["name"] for e in body["items"][0]["events"]] == ["CHANGE_LAST_NAME"]
    assert {p["name"] for p in body["items"][0]["events"][0]["parameters"]} == {
        p["name"] for p in first[1]["events"][0]["parameters"]
    }


async def test_token_and_token_error(client: httpx.AsyncClient, app: GoogleSimulator,
                                     clock: FakeClock) -> None:  # fmt: skip
    key = app.state.key_file()
    ok = await token_response(client, assertion(key, now=clock()))
    assert shape(ok.json()) == shape(golden("google.oauth2.token.json"))
    bad = await token_response(
        client, assertion(key, now=clock(), scopes=("https://mail.google.com/",))
    )
    assert bad.status_code == 401
    assert bad.json() == golden("google.oauth2.token.error-unauthorized-client.json")


async def test_error_envelopes(api: Api, client: httpx.AsyncClient) -> None:
    missing = await api.get(f"{DIRECTORY}/users/nobody@example.com")
    assert missing.status_code == 404
    assert missing.json() == golden("google.error.404-not-found.json")
    await client.put("/_sim/throttle", json={"count": 1})
    limited = await api.get(f"{DIRECTORY}/users", customer="my_customer")
    assert limited.status_code == 403
    assert limited.json() == golden("google.error.403-user-rate-limit.json")


@pytest.fixture
async def receiver() -> Any:
    """A real HTTP endpoint that records what is POSTed to it."""
    got: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        got.append((dict(request.headers), await request.body()))
        return Response(status_code=200)

    servers = Servers()
    url = await servers.start(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    yield url + "/hook", got
    await servers.close()


async def test_watch_channel_and_push_notification(
    api: Api, client: httpx.AsyncClient, app: GoogleSimulator, receiver: Any
) -> None:
    address, got = receiver
    sample = golden("google.directory.watch.channel.json")
    body = {"id": sample["id"], "type": "web_hook", "address": address, "token": sample["token"],
            "params": {"ttl": "3600"}}  # fmt: skip
    channel = (await api.post(f"{DIRECTORY}/users/watch", body, customer="my_customer",
                              event="update")).json()  # fmt: skip
    assert shape(channel) == shape(sample)
    user = next(u for u in app.state.store.users.values() if not u.is_admin)
    await client.patch(f"/_sim/users/{user.id}", json={"given_name": "Liz"})
    await app.state.channels.drain()
    for _ in range(100):
        if len(got) == 2:
            break
        await asyncio.sleep(0.01)
    (sync_headers, sync_body), (headers, raw) = got
    note = golden("google.push.notification.json")
    wanted = {k.lower() for k in note["headers"]}
    assert wanted <= set(headers)
    assert sync_headers["x-goog-resource-state"] == "sync"
    assert sync_body == b""
    assert headers["x-goog-resource-state"] == "update"
    assert headers["x-goog-channel-token"] == sample["token"]
    assert headers["x-goog-message-number"] == "2"
    pushed = json.loads(raw)
    assert set(note["body"]) <= set(pushed)
    assert pushed["id"] == user.id


async def test_failed_deliveries_are_retried_and_paused_channels_send_nothing(
    api: Api, client: httpx.AsyncClient, app: GoogleSimulator
) -> None:
    answers = [503, 200]
    got: list[str] = []

    async def flaky(request: Request) -> Response:
        got.append(request.headers["x-goog-resource-state"])
        return Response(status_code=answers.pop(0) if answers else 200)

    servers = Servers()
    url = await servers.start(Starlette(routes=[Route("/hook", flaky, methods=["POST"])]))
    try:
        app.state.channels.paused = True
        body = {"id": "c-flaky", "type": "web_hook", "address": url + "/hook", "token": "t"}
        assert (await api.post(f"{DIRECTORY}/users/watch", body, customer="my_customer",
                               event="update")).status_code == 200  # fmt: skip
        assert [e["result"] for e in app.state.channels.deliveries.entries()] == ["paused"]
        app.state.channels.paused = False
        user = next(u for u in app.state.store.users.values() if not u.is_admin)
        await client.patch(f"/_sim/users/{user.id}", json={"given_name": "Retry"})
        await app.state.channels.drain()
        results = [(e["state"], e["status"]) for e in app.state.channels.deliveries.entries()[1:]]
        assert results == [("update", 503), ("update", 200)]
        assert got == ["update", "update"]
    finally:
        await app.state.channels.close()
        await servers.close()
