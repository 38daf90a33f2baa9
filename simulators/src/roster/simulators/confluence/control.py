"""`/_sim/*` control routes: inspect and steer the simulator; no auth, no faults, not logged.

Tests, the demo and benchmarks use them to seed users (with last-login times), read the state
and the request log, and switch faults, rate limiting and licence seats at run time.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from roster.simulators.common.faults import Faults
from roster.simulators.confluence.errors import DirectoryError
from roster.simulators.confluence.ratelimit import RateLimitSettings
from roster.simulators.confluence.runtime import Simulator
from roster.simulators.confluence.wire import json_response


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class SeedUser(_Wire):
    username: str
    display_name: str | None = None
    email: str | None = None
    active: bool = True
    last_login: datetime | None = None
    groups: list[str] = Field(default_factory=list)


class Seed(_Wire):
    """Body of `POST /_sim/users` and the `--users-file` format: upserts, no validation or seats."""

    users: list[SeedUser] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class ResetBody(_Wire):
    reset_faults: bool = False
    reset_ratelimit: bool = False


class SeatsBody(_Wire):
    seats: int | None = Field(default=None, ge=0)


class LastLoginBody(_Wire):
    last_login: datetime | None = None


def seed(sim: Simulator, body: Seed) -> int:
    directory = sim.directory
    for name in body.groups:
        if name.lower() not in directory.groups:
            directory.create_group(name)
    for item in body.users:
        user = directory.user(item.username)
        given = item.model_fields_set | ({"active", "last_login"} if user is None else set())
        if user is None:
            display = item.display_name or item.username
            email = item.email or f"{item.username.lower()}@example.com"
            user = directory.create_user(item.username, display, email)
        else:  # upsert: fields the body leaves out keep their values
            display = item.display_name or user.display_name
            email = item.email or user.email
            directory.update_user(user.username, display_name=display, email=email)
        if "active" in given:
            directory.set_active(user.username, item.active)
        if "last_login" in given:
            directory.set_last_login(user.username, item.last_login)
        for group in item.groups:
            if group.lower() not in directory.groups:
                directory.create_group(group)
            directory.add_member(user.username, group)
    return len(body.users)


def load_users_file(sim: Simulator, path: Path) -> int:
    data = json.loads(path.read_text())
    return seed(sim, Seed.model_validate({"users": data} if isinstance(data, list) else data))


def snapshot(sim: Simulator) -> dict[str, Any]:
    directory = sim.directory
    users = [
        {
            "username": u.username,
            "userKey": u.key,
            "displayName": u.display_name,
            "email": u.email,
            "active": u.active,
            "lastLogin": u.last_login.isoformat() if u.last_login else None,
        }
        for u in directory.user_page(0, len(directory.users))[0]
    ]
    groups = directory.group_names()
    return {
        "version": sim.config.version,
        "users": users,
        "groups": groups,
        "memberships": {g: directory.groups[g].names() for g in groups},
    }


async def _body(request: Request, model: type[_Wire]) -> Any:
    raw = await request.body()
    return model.model_validate_json(raw or b"{}")


def routes(sim: Simulator) -> list[Route]:
    async def state(request: Request) -> Response:
        return json_response(snapshot(sim))

    async def requests(request: Request) -> Response:
        since = int(request.query_params.get("since", "0") or 0)
        return json_response({"count": len(sim.log), "entries": sim.log.entries(max(0, since))})

    async def reset(request: Request) -> Response:
        body = await _body(request, ResetBody)
        sim.directory.reset()
        sim.log.clear()
        if body.reset_faults:
            sim.faults = Faults()
        if body.reset_ratelimit:
            sim.limiter.settings = RateLimitSettings()
        return json_response(snapshot(sim))

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            sim.faults = Faults.model_validate_json(await request.body() or b"{}")
        return json_response(sim.faults.model_dump())

    async def ratelimit(request: Request) -> Response:
        if request.method == "PUT":
            sim.limiter.settings = RateLimitSettings.model_validate_json(
                await request.body() or b"{}"
            )
        return json_response(sim.limiter.settings.model_dump())

    async def seats(request: Request) -> Response:
        if request.method == "PUT":
            sim.directory.seats = (await _body(request, SeatsBody)).seats
        return json_response({"seats": sim.directory.seats, "used": sim.directory.active_count})

    async def users(request: Request) -> Response:
        created = seed(sim, await _body(request, Seed))
        return json_response({"seeded": created, "users": len(sim.directory.users)}, 201)

    async def last_login(request: Request) -> Response:
        body = await _body(request, LastLoginBody)
        user = sim.directory.set_last_login(request.path_params["username"], body.last_login)
        return json_response(
            {
                "username": user.username,
                "lastLogin": user.last_login.isoformat() if user.last_login else None,
            }
        )

    return [
        Route("/_sim/state", state, methods=["GET"]),
        Route("/_sim/requests", requests, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/faults", faults, methods=["GET", "PUT"]),
        Route("/_sim/ratelimit", ratelimit, methods=["GET", "PUT"]),
        Route("/_sim/seats", seats, methods=["GET", "PUT"]),
        Route("/_sim/users", users, methods=["POST"]),
        Route("/_sim/users/{username}/last-login", last_login, methods=["PUT"]),
    ]


def control_error(exc: Exception) -> Response | None:
    """Control-route failures as plain JSON (the product's error shape is not needed here)."""
    if isinstance(exc, ValidationError):
        return json_response({"message": "invalid body", "errors": json.loads(exc.json())}, 400)
    if isinstance(exc, DirectoryError):
        return json_response({"message": exc.message}, exc.status)
    if isinstance(exc, ValueError):
        return json_response({"message": str(exc)}, 400)
    return None
