"""Keycloak Admin REST transport: client-credentials token, authenticated GETs, offset paging.

The token is fetched with the client secret (revealed only into the request body, never
logged), renewed shortly before it expires and once more on a 401. `error_for` is the one
place where a Keycloak HTTP status becomes a Roster error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.connectors.http import (
    Peer,
    access_token,
    retry_after_seconds,
    send,
    with_retries,
)
from roster.fetcher.connectors.streams import offset_pages
from roster.fetcher.core.keycloak import JsonObject, objects
from roster.shared.config import KeycloakSettings, SecretRef
from roster.shared.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    RejectedError,
    RosterError,
    TransientError,
)

REQUIRED_ROLE = {
    "users": "view-users",
    "user": "view-users",
    "members": "view-users",
    "groups": "query-groups",
    "children": "query-groups",
    "user-groups": "view-users",
    "group": "query-groups",
    "events": "view-events",
}
"""realm-management client role a 403 on each kind of call points to (idp-apis.md §5.1)."""


Params = Mapping[str, str | int | Sequence[str]]
"""Query parameters; a sequence is sent as a repeated parameter (`resourceTypes=…&…`)."""


@dataclass(frozen=True)
class Call:
    """What a request was for, so errors can say it in words."""

    kind: str
    """token, users, user, groups, children, members."""
    method: str
    path: str


@dataclass(frozen=True)
class Target:
    directory: str
    base_url: str
    realm: str
    client_id: str
    secret_hint: str


def secret_hint(ref: SecretRef) -> str:
    """Where the secret comes from, for messages; never the secret itself."""
    return f"environment variable {ref.env}" if ref.env is not None else f"file {ref.file}"


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(body[k]) for k in ("error", "error_description") if body.get(k)]
    return (": " + " - ".join(parts))[:200] if parts else ""


def error_for(
    status: int,
    call: Call,
    target: Target,
    *,
    detail: str = "",
    retry_after: float | None = None,
) -> RosterError | None:
    """The Roster error a Keycloak answer means, or None for success. The only such mapping."""
    if status < 400:
        return None
    where = f"{call.method} {call.path}"
    if status in (408, 429) or status >= 500:
        return TransientError(
            f"Keycloak answered {status} to {where}{detail}", retry_after=retry_after, status=status
        )
    if call.kind == "token":
        if status in (400, 401):
            return PermanentError(
                f"Keycloak rejected the client credentials of client '{target.client_id}' in "
                f"realm '{target.realm}' ({status}{detail}): check the client secret "
                f"({target.secret_hint}) and that the client is confidential with service "
                "accounts enabled",
                status=status,
            )
        if status == 404:
            return ConfigurationError(
                f"Keycloak at {target.base_url} has no realm '{target.realm}' (404 from the "
                "token endpoint): check keycloak.base_url and keycloak.realm",
                status=status,
            )
    if status == 401:
        return PermanentError(
            f"Keycloak refused a freshly issued token of client '{target.client_id}' "
            f"(401 on {where}): bad credentials, or the token is not valid for realm "
            f"'{target.realm}'",
            status=status,
        )
    if status == 403:
        role = REQUIRED_ROLE.get(call.kind, "view-users")
        return RejectedError(
            f"Keycloak denied {where} (403): the service account of client "
            f"'{target.client_id}' needs the realm-management role '{role}'",
            status=status,
        )
    if status == 404:
        return NotFoundError(f"Keycloak has no {where} (404{detail})", status=status)
    return RejectedError(f"Keycloak rejected {where} ({status}{detail})", status=status)


class KeycloakClient:
    def __init__(
        self,
        directory: str,
        settings: KeycloakSettings,
        http: httpx.AsyncClient,
        hooks: ConnectorHooks,
    ) -> None:
        base = settings.base_url.rstrip("/")
        realm = quote(settings.realm, safe="")
        self.settings = settings
        self.page_size = settings.page_size
        self.target = Target(
            directory=directory,
            base_url=base,
            realm=settings.realm,
            client_id=settings.client_id,
            secret_hint=secret_hint(settings.client_secret),
        )
        self._http = http
        self._peer = Peer("Keycloak", "keycloak.base_url", where=self.target.base_url)
        self._hooks = hooks
        self._token_path = f"/realms/{realm}/protocol/openid-connect/token"
        self._token_url = base + self._token_path
        self._admin = f"{base}/admin/realms/{realm}"
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(
        self, path: str, params: Params, *, kind: str, attempts: int | None = None
    ) -> Any:
        """GET an admin API path (below the realm) as decoded JSON, with finite retries."""
        call = Call(kind=kind, method="GET", path=path)
        return await with_retries(
            lambda: self._get_once(call, params),
            retry=self._hooks.retry,
            sleep=self._hooks.sleep,
            max_attempts=attempts,
        )

    async def pages(
        self, path: str, params: Params, *, kind: str, ahead: int = 1
    ) -> AsyncIterator[list[JsonObject]]:
        """Offset paging (`first`, `max`) until a short page; Keycloak sends no total or cursor.

        `ahead` pages are requested at once; the pages still come out in order.
        """
        size = self.page_size

        async def fetch(first: int) -> list[JsonObject]:
            query = {**params, "first": first, "max": size}
            page = objects(await self.get(path, query, kind=kind), what=f"GET {path}")
            if len(page) > size:  # `max` ignored: offsets would repeat users forever
                raise PermanentError(
                    f"Keycloak returned {len(page)} items for max={size} on GET {path}"
                )
            return page

        async for page in offset_pages(fetch, size=size, ahead=ahead):
            yield page

    async def _get_once(self, call: Call, params: Params) -> Any:
        token = await self._access_token()
        response = await self._send(call, params=params, token=token)
        if response.status_code == 401:  # expired or revoked early: one fresh token, once
            self._drop(token)
            response = await self._send(call, params=params, token=await self._access_token())
        self._raise_for(response, call)
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(
                f"Keycloak answered {call.method} {call.path} with non-JSON"
            ) from exc

    async def _access_token(self) -> str:
        async with self._lock:
            now = self._hooks.clock()
            if self._token is not None and now < self._expires_at:
                return self._token
            self._token = None
            call = Call(kind="token", method="POST", path=self._token_path)
            form = {
                "grant_type": "client_credentials",
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret.reveal(),
            }
            response = await self._send(call, data=form)
            self._raise_for(response, call)
            token, lifetime = access_token(response, self._peer, default_lifetime=60)
            # renew a little early, so a token never expires between check and use
            self._expires_at = now + lifetime - min(30.0, lifetime / 10)
            self._token = token
            return token

    def _drop(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def _send(
        self,
        call: Call,
        *,
        params: Params | None = None,
        data: dict[str, str] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        if call.kind == "token":
            url, method = self._token_url, "POST"
        else:
            url, method = self._admin + call.path, call.method
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        what = f"{call.method} {call.path}"
        return await send(
            self._http, self._peer, self._hooks.on_request, method, url,
            what=what, params=params, data=data, headers=headers,
        )  # fmt: skip

    def _raise_for(self, response: httpx.Response, call: Call) -> None:
        if response.status_code < 400:
            return
        error = error_for(
            response.status_code,
            call,
            self.target,
            detail=_detail(response),
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
        if error is not None:
            raise error
