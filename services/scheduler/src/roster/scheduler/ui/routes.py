"""The admin web UI under `/ui`: server-rendered pages over the run store and stored plans.

Decides who may see and do what in the browser: every page needs a valid session (the
`roster_session` cookie holds the API token; without one → the login page), every POST
form must carry the session's CSRF token (else 403), and approving or rejecting a held run
needs the operator role (else 403). The decision itself is `approvals.decide_run`, the
same as the API's. Templates autoescape everything.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import jinja2
import redis.asyncio as redis
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from roster.scheduler.approvals import PlanReader, decide_run
from roster.scheduler.auth import SESSION_COOKIE, Authenticator, Principal
from roster.scheduler.health import check
from roster.scheduler.health import state as health_state
from roster.scheduler.runs import RunStore
from roster.scheduler.schedules import next_runs
from roster.scheduler.ui import views
from roster.shared.config import RosterConfig
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.decisions import RunApproved, RunDecision, RunRejected
from roster.shared.redisdb import Keys

HERE = Path(__file__).parent
DOWNLOAD_PATH = "/api/v1/runs/{run_id}/results/download"


class LoginRequired(Exception):
    """No valid session: the caller gets the login page."""


def static_files() -> StaticFiles:
    """The UI's CSS, to mount at `/ui/static`."""
    return StaticFiles(directory=HERE / "static")


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body, last value per field (no multipart: the forms are tiny)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def ui_router(
    config: RosterConfig,
    store: RunStore,
    authenticator: Authenticator,
    runtime: KafkaRuntime,
    *,
    client: redis.Redis,
    csrf_token_for: Callable[[str], str],
    http: httpx.AsyncClient | None = None,
) -> APIRouter:
    """The `/ui` pages. `authenticator.identify(token)` names the session's principal (or
    None), `csrf_token_for(token)` is the token every POST form must carry (the scheduler's
    `auth` module gives both); `http` is the client for the fetcher's health checks."""
    router = APIRouter(prefix="/ui", include_in_schema=False)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    templates = Jinja2Templates(env=env)
    templates.env.globals.update(when=views.when, duration=views.duration)
    templates.env.globals["progress"] = views.progress
    plans = PlanReader(client, Keys(config.redis.key_prefix))

    def identify(token: str | None) -> Principal | None:
        return authenticator.identify(token) if token else None

    async def session(request: Request) -> tuple[Principal, str]:
        token = request.cookies.get(SESSION_COOKIE)
        principal = identify(token)
        if principal is None or token is None:
            raise LoginRequired
        return principal, token

    async def checked_form(request: Request) -> tuple[Principal, dict[str, str]]:
        principal, token = await session(request)
        form = await _form(request)
        sent, expected = form.get("csrf_token", "").encode(), csrf_token_for(token).encode()
        if not hmac.compare_digest(sent, expected):
            raise HTTPException(403, "missing or wrong CSRF token")
        return principal, form

    def render(
        request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        token = request.cookies.get(SESSION_COOKIE)
        base = {"csrf_token": csrf_token_for(token) if token else ""}
        return templates.TemplateResponse(request, name, base | context, status_code=status_code)

    async def health(directory: str) -> str:
        return health_state(await check(http, config, directory))

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        return render(request, "login.html", {"error": None, "user": None})

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        token = (await _form(request)).get("token", "").strip()
        if identify(token) is None:
            context = {"error": "unknown token", "user": None}
            return render(request, "login.html", context, status_code=401)
        response = RedirectResponse("/ui/", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        await checked_form(request)
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get("/", response_class=HTMLResponse)
    async def dashboard(request: Request) -> Response:
        user, _ = await session(request)
        runs = await store.recent(200)
        checks = await asyncio.gather(*(health(d.id) for d in config.directories))
        directories = []
        for directory, state in zip(config.directories, checks, strict=True):
            last = next((r for r in runs if r.get("directory") == directory.id), None)
            upcoming = next_runs(directory, time.time())
            directories.append(
                {"id": directory.id, "kind": directory.kind, "health": state, "last": last,
                 "next": min(upcoming.values(), default=None)}
            )  # fmt: skip
        held = sum(1 for r in runs if r.get("status") == "held")
        context = {"user": user, "directories": directories, "runs": runs[:10], "held": held}
        return render(request, "dashboard.html", context)

    @router.get("/runs", response_class=HTMLResponse)
    async def runs_page(request: Request, directory: str = "", status: str = "") -> Response:
        user, _ = await session(request)
        runs = [
            r
            for r in await store.recent(500)
            if (not directory or r.get("directory") == directory)
            and (not status or r.get("status") == status)
        ]
        context = {
            "user": user,
            "runs": runs,
            "directory": directory,
            "status": status,
            "directories": [d.id for d in config.directories],
            "statuses": ["running", "held", "succeeded", "failed", "dry-run", "rejected"],
        }
        return render(request, "runs.html", context)

    @router.get("/runs/{run_id}", response_class=HTMLResponse)
    async def run_page(
        request: Request,
        run_id: str,
        q: str = "",
        status: str = "",
        operation: str = "",
        page: int = 1,
    ) -> Response:
        user, _ = await session(request)
        run = await store.get(run_id)
        if run is None:
            return render(request, "error.html", {"user": user, "error": f"no run {run_id}"}, 404)
        results = views.results_page(
            await store.results(run_id), q=q, status=status, operation=operation, page=page
        )
        paths = {getattr(r, "path", "") for r in request.app.routes}
        download = (
            DOWNLOAD_PATH if DOWNLOAD_PATH in paths else "/api/v1/runs/{run_id}/results"
        ).format(run_id=run_id)
        query = {"q": q, "status": status, "operation": operation}
        context = {
            "user": user,
            "run": run,
            "results": results,
            "filters": query,
            "query": urlencode({k: v for k, v in query.items() if v}),
            "download": download,
            "has_plan": await plans.plan(run_id) is not None,
        }
        return render(request, "run.html", context)

    @router.get("/runs/{run_id}/plan", response_class=HTMLResponse)
    async def plan_page(request: Request, run_id: str) -> Response:
        user, _ = await session(request)
        plan = await plans.plan(run_id)
        if plan is None:
            error = f"run {run_id} has no stored plan (only dry and held runs have one)"
            return render(request, "error.html", {"user": user, "error": error}, 404)
        return render(request, "plan.html", {"user": user, "plan": plan, "run_id": run_id})

    @router.get("/approvals", response_class=HTMLResponse)
    async def approvals_page(request: Request) -> Response:
        user, _ = await session(request)
        held = []
        for run in await store.recent(500):
            if run.get("status") == "held":
                plan = await plans.plan(run["run_id"]) or {}
                held.append({"run": run, "plan": plan, "risky": views.riskiest(plan)})
        context = {"user": user, "held": held, "operator": user.can("operator")}
        return render(request, "approvals.html", context)

    async def decide(request: Request, run_id: str, decision: type[RunDecision]) -> Response:
        user, form = await checked_form(request)
        if not user.can("operator"):
            raise HTTPException(403, "approving or rejecting a run needs the operator role")
        try:
            await decide_run(
                store, runtime, run_id, decision, by=user.name, comment=form.get("comment", "")
            )
        except HTTPException as exc:
            context = {"user": user, "error": exc.detail}
            return render(request, "error.html", context, exc.status_code)
        return RedirectResponse(f"/ui/runs/{run_id}", status_code=303)

    @router.post("/runs/{run_id}/approve")
    async def approve(request: Request, run_id: str) -> Response:
        return await decide(request, run_id, RunApproved)

    @router.post("/runs/{run_id}/reject")
    async def reject(request: Request, run_id: str) -> Response:
        return await decide(request, run_id, RunRejected)

    return router


def login_redirect(request: Request, exc: Exception) -> Response:
    """Exception handler for LoginRequired: pages go to the login form."""
    return RedirectResponse("/ui/login", status_code=303)
