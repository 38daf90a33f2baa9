"""The admin web UI over plain HTTP on a real Redis: login (wrong token → the form again,
a right one → an HttpOnly SameSite=Strict session cookie), every page redirects to the
login without a session, POSTs without the session's CSRF token are refused (403), a viewer
cannot approve (403), an operator's approval is the API's decision; results filtering and
paging, the approvals' risk order, escaping, and directory health from the fetcher.

Also the seeding helpers the browser tests (test_scheduler_ui_browser.py) share.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI
from scheduler_support import Recorder, fetcher_app, scratch_redis, two_tokens

from roster.scheduler.auth import csrf_token_for
from roster.scheduler.runs import RunStore
from roster.scheduler.sink import Sink
from roster.scheduler.ui import mount_ui, views
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.base import Message
from roster.shared.messages.decisions import RunApproved
from roster.shared.messages.results import CommandFailed, CommandSucceeded
from roster.shared.messages.runs import PlanSummary, RunHeld
from roster.shared.redisdb import Keys

OPERATOR, VIEWER = "op-token-1234567890", "view-token-1234567890"
DIRECTORIES = [
    {"id": "corp", "kind": "ldap", "schedule": {"full": "30 3 * * *", "spread_seconds": 0}},
    {"id": "partners", "kind": "onelogin"},
]
HELD_SUMMARY = PlanSummary(delete_users=1, deactivate_users=2, remove_memberships=1)


# ---------------------------------------------------------------- seeding (shared) ----


async def seed_finished_run(store: RunStore, run_id: str = "run-done") -> None:
    """A finished run of `corp` with four results: two applied, one unchanged, one failed."""
    await store.started(
        run_id, {"directory": "corp", "mode": "full", "trigger": "schedule", "dry_run": False}
    )
    await store.update(run_id, {"commands": 4, "phase": "writing"})
    ok = [
        ("c1", "alice", "CreateUser", False),
        ("c2", "bob", "AddMembership", False),
        ("c3", "carol", "UpdateUser", True),
    ]
    for cid, user, operation, noop in ok:
        await store.record_result(
            CommandSucceeded(
                run_id=run_id, command_id=cid, operation=operation, username=user, noop=noop,
                reason="rule: staff",
            )
        )  # fmt: skip
    await store.record_result(
        CommandFailed(
            run_id=run_id, command_id="c4", operation="CreateUser", username="dave",
            permanent=True, status=402, error="license limit reached",
        )
    )  # fmt: skip
    await store.try_complete(run_id)


def held_plan(run_id: str) -> dict[str, Any]:
    """A stored plan (rec:plan:{run}) in the reconciler's documented shape."""
    return {
        "run_id": run_id,
        "directory": "corp",
        "status": "held",
        "mode": "full",
        "hold_reason": "deactivations 2 > limit 1",
        "summary": HELD_SUMMARY.model_dump(mode="json"),
        "users": [
            {"username": "gina", "subject": "s-g", "outcome": "changed", "reasons": ["moved"],
             "changes": [{"type": "RemoveMembership", "reason": "left team", "group": "eng"}]},
            {"username": "erin", "subject": "s-e", "outcome": "changed", "reasons": ["left"],
             "changes": [{"type": "DeactivateUser", "reason": "not in IdP"}]},
            {"username": "zed", "subject": "s-z", "outcome": "changed", "reasons": ["gone"],
             "changes": [{"type": "DeleteUser", "reason": "deleted after 30 days"}]},
            {"username": "hank", "subject": "s-h", "outcome": "created", "reasons": ["new"],
             "changes": [{"type": "CreateUser", "reason": "rule: staff"}]},
        ],
        "commands": [],
        "explanations": [],
        "links": [],
        "notes": [],
    }  # fmt: skip


async def seed_held_run(
    store: RunStore, client: redis.Redis, keys: Keys, run_id: str = "run-held"
) -> None:
    """A run held by the reconciler: its plan stored, then RunHeld through the real sink."""
    await store.lock("corp", run_id)
    await store.started(run_id, {"directory": "corp", "mode": "full", "trigger": "api"})
    await client.set(keys("rec", "plan", run_id), json.dumps(held_plan(run_id)))
    sink = Sink(cast(KafkaRuntime, Recorder()), store)
    await sink.on_run_event(
        RunHeld(run_id=run_id, directory="corp", reason="deactivations", summary=HELD_SUMMARY)
    )


TOKENS = two_tokens("UI", OPERATOR, VIEWER)
"""The scheduler's own authenticator: operator `olga`, viewer `vic`."""


# ---------------------------------------------------------------- the HTTP world ----


@dataclass
class World:
    http: httpx.AsyncClient
    store: RunStore
    redis: redis.Redis
    keys: Keys
    runtime: Recorder

    def login(self, token: str) -> None:
        self.http.cookies.set("roster_session", token)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with scratch_redis("t-ui") as scratch:
        store = RunStore(scratch.client, scratch.keys)
        runtime = Recorder()
        config = RosterConfig(
            redis={"url": scratch.url, "key_prefix": scratch.prefix}, directories=DIRECTORIES
        )
        fetcher = httpx.AsyncClient(transport=httpx.ASGITransport(app=fetcher_app()))
        app = FastAPI()
        mount_ui(
            app, config, store, TOKENS, cast(KafkaRuntime, runtime),
            client=scratch.client, csrf_token_for=csrf_token_for, http=fetcher,
        )  # fmt: skip
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield World(http, store, scratch.client, scratch.keys, runtime)
        await fetcher.aclose()


def decisions(world: World) -> list[Message]:
    return [m for f, _, m in world.runtime.sent if f == topics.RUN_DECISIONS]


# ---------------------------------------------------------------- login / session ----


async def test_login_with_an_unknown_token_shows_the_form_again(world: World) -> None:
    response = await world.http.post("/ui/login", data={"token": "nope"})
    assert response.status_code == 401
    assert "unknown token" in response.text
    assert 'name="token"' in response.text
    assert "set-cookie" not in response.headers


async def test_login_sets_a_strict_http_only_session_cookie(world: World) -> None:
    response = await world.http.post("/ui/login", data={"token": VIEWER})
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"roster_session={VIEWER}".lower())
    for part in ("httponly", "samesite=strict", "path=/"):
        assert part in cookie
    page = await world.http.get("/ui/")  # the client keeps the cookie
    assert page.status_code == 200
    assert "vic (viewer)" in page.text


@pytest.mark.parametrize(
    "path", ["/ui/", "/ui/runs", "/ui/runs/run-done", "/ui/runs/run-held/plan", "/ui/approvals"]
)
@pytest.mark.parametrize("cookie", [None, "not-a-token"])
async def test_pages_without_a_valid_session_redirect_to_login(
    world: World, path: str, cookie: str | None
) -> None:
    if cookie:
        world.login(cookie)
    response = await world.http.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login"


async def test_logout_needs_csrf_and_clears_the_cookie(world: World) -> None:
    world.login(VIEWER)
    assert (await world.http.post("/ui/logout")).status_code == 403
    response = await world.http.post("/ui/logout", data={"csrf_token": csrf_token_for(VIEWER)})
    assert response.status_code == 303
    assert 'roster_session=""' in response.headers["set-cookie"]


# ---------------------------------------------------------------- approvals ----


@pytest.mark.parametrize("verb", ["approve", "reject"])
@pytest.mark.parametrize("csrf", [None, "", "forged", "f\u00fc\u00df", csrf_token_for(VIEWER)])
async def test_posts_without_the_sessions_csrf_token_are_refused(
    world: World, verb: str, csrf: str | None
) -> None:
    await seed_held_run(world.store, world.redis, world.keys)
    world.login(OPERATOR)
    data = {} if csrf is None else {"csrf_token": csrf}
    response = await world.http.post(f"/ui/runs/run-held/{verb}", data=data)
    assert response.status_code == 403
    run = await world.store.get("run-held")
    assert run is not None
    assert run["status"] == "held"
    assert "decision" not in run
    assert decisions(world) == []


@pytest.mark.parametrize("verb", ["approve", "reject"])
async def test_a_viewer_cannot_decide(world: World, verb: str) -> None:
    await seed_held_run(world.store, world.redis, world.keys)
    world.login(VIEWER)
    page = await world.http.get("/ui/approvals")
    assert page.text.count("disabled") >= 3  # approve, comment, reject
    data = {"csrf_token": csrf_token_for(VIEWER)}
    response = await world.http.post(f"/ui/runs/run-held/{verb}", data=data)
    assert response.status_code == 403
    assert "decision" not in (await world.store.get("run-held") or {})
    assert decisions(world) == []


async def test_an_operator_approves_once_like_the_api(world: World) -> None:
    await seed_held_run(world.store, world.redis, world.keys)
    world.login(OPERATOR)
    data = {"csrf_token": csrf_token_for(OPERATOR)}
    response = await world.http.post("/ui/runs/run-held/approve", data=data)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/runs/run-held"
    (decision,) = decisions(world)
    assert isinstance(decision, RunApproved)
    assert (decision.run_id, decision.directory, decision.by) == ("run-held", "corp", "olga")
    run = await world.store.get("run-held")
    assert run is not None
    assert (run["decision"], run["decided_by"]) == ("approved", "olga")
    again = await world.http.post("/ui/runs/run-held/reject", data=data)
    assert again.status_code == 409
    assert "already" in again.text
    assert len(decisions(world)) == 1
    missing = await world.http.post("/ui/runs/nope/approve", data=data)
    assert missing.status_code == 404


async def test_approvals_page_lists_the_riskiest_entries_first(world: World) -> None:
    await seed_held_run(world.store, world.redis, world.keys)
    world.login(OPERATOR)
    page = (await world.http.get("/ui/approvals")).text
    assert "deactivations 2 &gt; limit 1" in page  # the hold reason, escaped
    positions = [page.index(user) for user in ("zed", "erin", "gina")]
    assert positions == sorted(positions)
    assert "hank" not in page  # a creation is not risky
    assert "disabled" not in page
    assert (
        'Pending approvals: <a href="/ui/approvals"><strong>1<'
        in (await world.http.get("/ui/")).text
    )


async def test_plan_page_shows_each_users_changes_and_why(world: World) -> None:
    await seed_held_run(world.store, world.redis, world.keys)
    world.login(VIEWER)
    page = (await world.http.get("/ui/runs/run-held/plan")).text
    for text in ("zed", "DeleteUser", "deleted after 30 days", "RemoveMembership eng", "hank"):
        assert text in page
    missing = await world.http.get("/ui/runs/run-done/plan")
    assert missing.status_code == 404


# ---------------------------------------------------------------- pages ----


async def test_dashboard_shows_directories_health_and_latest_runs(world: World) -> None:
    await seed_finished_run(world.store)
    world.login(VIEWER)
    page = (await world.http.get("/ui/")).text
    assert 's-healthy">healthy' in page  # corp answers ok
    assert 's-unhealthy">unhealthy' in page  # partners answers not ok
    assert "run-done" in page
    assert "4 / 4" in page  # progress done / commands
    assert "03:30" in page  # corp's next full sync (cron 30 3 * * *, UTC)
    assert page.count("<td>—</td>") == 1  # partners has no schedule


async def test_run_page_filters_results(world: World) -> None:
    await seed_finished_run(world.store)
    world.login(VIEWER)
    page = await world.http.get("/ui/runs/run-done", params={"operation": "CreateUser"})
    assert page.status_code == 200
    rows = page.text.count('<tr class="result"')
    assert rows == 2
    assert "alice" in page.text
    assert "dave" in page.text
    assert "bob</td>" not in page.text
    assert "license limit reached" in page.text
    assert 'href="/api/v1/runs/run-done/results"' in page.text
    failed = await world.http.get("/ui/runs/run-done", params={"status": "failed"})
    assert failed.text.count('<tr class="result"') == 1
    searched = await world.http.get("/ui/runs/run-done", params={"q": "CAR"})
    assert searched.text.count('<tr class="result"') == 1
    assert "carol" in searched.text


async def test_everything_shown_is_escaped(world: World) -> None:
    await world.store.started(
        "run-x", {"directory": "corp", "trigger": "<script>alert(1)</script>"}
    )
    await world.store.record_result(
        CommandSucceeded(run_id="run-x", command_id="c", operation="CreateUser",
                         username="<img src=x onerror=alert(1)>")
    )  # fmt: skip
    world.login(VIEWER)
    for path in ("/ui/", "/ui/runs", "/ui/runs/run-x"):
        text = (await world.http.get(path)).text
        assert "<script>alert" not in text
        assert "<img src=x" not in text
    assert "&lt;img src=x" in (await world.http.get("/ui/runs/run-x")).text


async def test_history_filters_by_directory_and_status(world: World) -> None:
    await seed_finished_run(world.store)
    await seed_held_run(world.store, world.redis, world.keys)
    await world.store.started("run-p", {"directory": "partners"})
    world.login(VIEWER)
    held = (await world.http.get("/ui/runs", params={"status": "held"})).text
    assert held.count("<tr data-run=") == 1
    assert 'data-run="run-held"' in held
    corp = (await world.http.get("/ui/runs", params={"directory": "corp"})).text
    assert corp.count("<tr data-run=") == 2
    assert "run-p" not in corp


# ---------------------------------------------------------------- pure view rules ----


def _r(cid: str, user: str, op: str, kind: str = "CommandSucceeded", noop: bool = False) -> dict:
    return {"command_id": cid, "username": user, "operation": op, "type": kind, "noop": noop}


RESULTS = [
    _r("1", "alice", "CreateUser"),
    _r("2", "Alicia", "AddMembership", noop=True),
    _r("3", "bob", "CreateUser", kind="CommandFailed"),
    _r("4", "carl", "DeactivateUser"),
]


@pytest.mark.parametrize(
    ("filters", "users"),
    [
        ({}, ["Alicia", "alice", "bob", "carl"]),
        ({"q": "ali"}, ["Alicia", "alice"]),
        ({"status": "failed"}, ["bob"]),
        ({"status": "noop"}, ["Alicia"]),
        ({"status": "applied"}, ["alice", "carl"]),
        ({"operation": "CreateUser"}, ["alice", "bob"]),
        ({"q": "ali", "operation": "CreateUser"}, ["alice"]),
        ({"q": "nobody"}, []),
    ],
)
def test_results_filters(filters: dict[str, str], users: list[str]) -> None:
    page = views.results_page(RESULTS, **filters)
    assert [r["username"] for r in page.rows] == users
    assert page.total == len(users)


@pytest.mark.parametrize(
    ("page", "shown", "expected_page"), [(1, ["1", "2"], 1), (2, ["3"], 2), (9, ["3"], 2)]
)
def test_results_paging(page: int, shown: list[str], expected_page: int) -> None:
    rows = [_r(str(i), f"u{i}", "CreateUser") for i in (1, 2, 3)]
    result = views.results_page(rows, page=page, size=2)
    assert [r["command_id"] for r in result.rows] == shown
    assert (result.page, result.pages, result.total) == (expected_page, 2, 3)


@pytest.mark.parametrize(
    ("run", "expected"),
    [({}, (0, None, 0)), ({"commands": 0}, (0, 0, 100)), ({"commands": 4, "done": 1}, (1, 4, 25))],
)
def test_progress(run: dict[str, Any], expected: tuple[int, int | None, int]) -> None:
    assert views.progress(run) == expected


def test_riskiest_orders_deletions_then_deactivations_then_removals() -> None:
    ranked = views.riskiest(held_plan("r"))
    assert [u["username"] for u in ranked] == ["zed", "erin", "gina"]
    changes = [{"type": "CreateUser"}, {"type": "RemoveMembership"}, {"type": "DeactivateUser"}]
    mixed = {"users": [{"username": "m", "changes": changes}]}
    (user,) = views.riskiest(mixed)
    assert [c["type"] for c in user["changes"]] == ["DeactivateUser", "RemoveMembership"]
