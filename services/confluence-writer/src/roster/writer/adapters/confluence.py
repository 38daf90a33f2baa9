"""The Confluence client the executor and the snapshot reader use: version first, then resources.

At first use it learns the server's version (configured, or the anonymous Application Links
manifest: JSON, else XML) and makes one authenticated read, which checks the credentials and
lets the rate limiter learn the server's pace before any write. Users and groups are then
served by the REST-or-RPC resource classes for that version.
"""

from __future__ import annotations

import asyncio
import json

import structlog

from roster.shared.errors import ConfigurationError, PermanentError, RosterError
from roster.writer.adapters.clock import Clock
from roster.writer.adapters.groups import GroupApi
from roster.writer.adapters.http import ConfluenceHttp
from roster.writer.adapters.rpc import RpcClient
from roster.writer.adapters.users import UserApi
from roster.writer.adapters.wire import Manifest
from roster.writer.core.version import Capabilities, parse_version, render, version_from_manifest
from roster.writer.settings import WriterOptions

log = structlog.get_logger()

MANIFEST = "/rest/applinks/1.0/manifest"
CURRENT_USER = "/rest/api/user/current"


class ConfluenceClient:
    def __init__(
        self,
        http: ConfluenceHttp,
        *,
        version: str = "auto",
        options: WriterOptions,
        clock: Clock,
    ) -> None:
        self.http = http
        self.rpc = RpcClient(http)
        self._configured = version
        self._options = options
        self._clock = clock
        self._lock = asyncio.Lock()
        self._caps: Capabilities | None = None
        self._users: UserApi | None = None
        self._groups: GroupApi | None = None

    async def ready(self) -> Capabilities:
        """Detect the version once (concurrent callers wait for the first)."""
        if self._caps is not None:
            return self._caps
        async with self._lock:
            if self._caps is None:
                caps = Capabilities(await self._detect())
                if not caps.supported:
                    log.warning("confluence version outside 7.1-9.3", version=render(caps.version))
                await self.http.get_json(CURRENT_USER)
                self._users = UserApi(
                    self.http,
                    self.rpc,
                    caps,
                    clock=self._clock,
                    poll_seconds=self._options.longtask_poll_seconds,
                    poll_timeout=self._options.longtask_timeout_seconds,
                )
                self._groups = GroupApi(self.http, self.rpc, caps)
                self._caps = caps
                log.info("confluence connected", version=render(caps.version))
        return self._caps

    async def _detect(self) -> tuple[int, int]:
        if self._configured and self._configured != "auto":
            try:
                return parse_version(self._configured)
            except ValueError as exc:
                raise ConfigurationError(f"confluence.version: {exc}") from exc
        try:
            response = await self.http.request("GET", MANIFEST, anonymous=True)
        except PermanentError as exc:
            raise ConfigurationError(
                f"cannot detect the Confluence version ({MANIFEST}: {exc}); set confluence.version"
            ) from exc
        try:
            return parse_version(Manifest.model_validate(response.json()).version)
        except (ValueError, json.JSONDecodeError):
            pass
        try:
            return version_from_manifest(response.text)
        except ValueError as exc:
            raise ConfigurationError(f"no version in {MANIFEST}; set confluence.version") from exc

    @property
    def capabilities(self) -> Capabilities:
        if self._caps is None:
            raise RuntimeError("call ready() first")
        return self._caps

    @property
    def users(self) -> UserApi:
        if self._users is None:
            raise RuntimeError("call ready() first")
        return self._users

    @property
    def groups(self) -> GroupApi:
        if self._groups is None:
            raise RuntimeError("call ready() first")
        return self._groups


async def try_ready(client: ConfluenceClient) -> None:
    """Start-up hook: connect early but keep serving if Confluence is down (retried lazily)."""
    try:
        await client.ready()
    except RosterError as exc:
        log.warning("confluence not reachable at start", error=str(exc))
