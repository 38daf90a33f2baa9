"""The live simulator: configuration, directory, limiter, faults and request log in one object.

Route modules receive it when the app is built and close over it; control routes mutate it.
It holds no HTTP logic itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from roster.simulators.common.faults import Faults, RequestLog
from roster.simulators.confluence.config import SimConfig, Version
from roster.simulators.confluence.ratelimit import RateLimiter
from roster.simulators.confluence.state import Directory

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(slots=True)
class RouteSpec:
    """One endpoint: method, path template, the operation name logged for it, first version."""

    method: str
    path: str
    handler: Handler
    op: str
    since: Version = (0, 0)


@dataclass(slots=True)
class Simulator:
    config: SimConfig
    version: Version
    directory: Directory
    limiter: RateLimiter
    log: RequestLog
    faults: Faults = field(default_factory=Faults)

    @classmethod
    def from_config(cls, config: SimConfig) -> Simulator:
        return cls(
            config=config,
            version=config.parsed_version,
            directory=Directory(
                admin_user=config.admin_user, seats=config.seats, default_group=config.default_group
            ),
            limiter=RateLimiter(config.ratelimit, config.clock),
            log=RequestLog(limit=config.log_limit),
        )
