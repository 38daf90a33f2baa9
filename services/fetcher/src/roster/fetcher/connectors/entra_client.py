"""Microsoft Graph transport: client-credentials token, requests, `@odata.nextLink` paging,
and the one function where a Graph or token-endpoint status becomes a Roster error.

The secret is revealed only into the token form; the token is renewed before it expires and
once on a 401. 429/5xx are transient (`Retry-After`); an expired or reset delta token (400
`syncStateNotFound`, 410 Gone) is `CursorExpired`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
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
from roster.fetcher.core.changes import CursorExpired
from roster.fetcher.core.entra import JsonObject, values
from roster.shared.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    RejectedError,
    RosterError,
    TransientError,
)
from roster.shared.settings.entra import EntraSettings

PERMISSION = {
    "users": "User.Read.All",
    "user": "User.Read.All",
    "users-delta": "User.Read.All",
    "groups": "GroupMember.Read.All",
    "group": "GroupMember.Read.All",
    "members": "GroupMember.Read.All",
    "groups-delta": "GroupMember.Read.All",
    "member-of": "GroupMember.Read.All",
    "subscriptions": "User.Read.All and GroupMember.Read.All",
}
"""Application permission a 403 on each kind of call points to (idp-apis.md §1.1)."""
EXPIRED_CODES = frozenset({"syncStateNotFound", "resyncRequired", "syncStateInvalid"})

Params = Mapping[str, str | int]


@dataclass(frozen=True)
class Call:
    kind: str
    method: str
    path: str
    """Path below the Graph root (for messages), never a query string with tokens."""


def graph_error(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of a Graph error body, or of an identity-platform (AADSTS) one."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("code", "")), str(error.get("message", ""))[:200]
    if isinstance(error, str):
        return error, str(body.get("error_description", ""))[:200].split(" Trace ID")[0]
    return "", ""


def error_for(
    status: int,
    call: Call,
    *,
    code: str = "",
    message: str = "",
    retry_after: float | None = None,
    client_id: str = "",
    tenant: str = "",
) -> RosterError | None:
    """The Roster error a Graph or token-endpoint answer means, or None. The only mapping."""
    if status < 400:
        return None
    where = f"{call.method} {call.path}"
    detail = f": {code} {message}".rstrip() if code or message else ""
    if status in (408, 429) or status >= 500:
        return TransientError(
            f"Microsoft Graph answered {status} to {where}{detail}",
            retry_after=retry_after,
            status=status,
        )
    if call.kind.endswith("-delta") and (status == 410 or code in EXPIRED_CODES):
        return CursorExpired(f"Graph refused the delta token ({status}{detail}): full sync needed")
    if call.kind == "token":
        if code in ("invalid_client", "unauthorized_client") or status == 401:
            return PermanentError(
                f"Entra rejected the client credentials of app '{client_id}' in tenant "
                f"'{tenant}' ({status}{detail}): check entra.client_id and the client secret",
                status=status,
            )
        return ConfigurationError(
            f"Entra token endpoint refused the request for tenant '{tenant}' ({status}{detail}): "
            "check entra.tenant_id and entra.login_url",
            status=status,
        )
    if status == 401:
        return PermanentError(
            f"Microsoft Graph refused a freshly issued token (401 on {where}{detail})",
            status=status,
        )
    if status == 403:
        permission = PERMISSION.get(call.kind, "Directory.Read.All")
        return RejectedError(
            f"Microsoft Graph denied {where} (403{detail}): app '{client_id}' needs the "
            f"application permission {permission} with admin consent",
            status=status,
        )
    if status == 404:
        return NotFoundError(f"Microsoft Graph has no {where} (404{detail})", status=status)
    return RejectedError(f"Microsoft Graph rejected {where} ({status}{detail})", status=status)


class GraphClient:
    def __init__(
        self,
        directory: str,
        settings: EntraSettings,
        http: httpx.AsyncClient,
        hooks: ConnectorHooks,
    ) -> None:
        self.directory = directory
        self.settings = settings
        self._graph = settings.graph_url.rstrip("/") + "/v1.0"
        tenant = quote(settings.tenant_id, safe="")
        self._token_url = f"{settings.login_url.rstrip('/')}/{tenant}/oauth2/v2.0/token"
        self._scope = settings.scope
        self._http = http
        self._peer = Peer("Microsoft Graph", "entra.graph_url / entra.login_url")
        self._token_peer = Peer("Entra", "entra.login_url")
        self._hooks = hooks
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self._graph + path

    async def request(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        params: Params | None = None,
        json: Any = None,
        attempts: int | None = None,
        label: str | None = None,
    ) -> Any:
        """One Graph call with finite retries; decoded JSON, or None for 204."""
        call = Call(kind=kind, method=method, path=label or path.split("?")[0])
        return await with_retries(
            lambda: self._once(call, path, params, json),
            retry=self._hooks.retry,
            sleep=self._hooks.sleep,
            max_attempts=attempts,
        )

    async def get(
        self, path: str, params: Params, *, kind: str, attempts: int | None = None
    ) -> Any:
        return await self.request("GET", path, kind=kind, params=params, attempts=attempts)

    async def pages(
        self, path: str, params: Params, *, kind: str
    ) -> AsyncIterator[tuple[list[JsonObject], JsonObject]]:
        """(value, whole page) per page, following `@odata.nextLink` until it is absent."""
        label = path.split("?")[0] if not path.startswith("http") else f"/{kind}"
        body = await self.request("GET", path, kind=kind, params=params, label=label)
        while True:
            yield values(body, what=f"GET {label}"), body
            link = body.get("@odata.nextLink")
            if not isinstance(link, str) or not link:
                return
            body = await self.request("GET", link, kind=kind, label=label)

    async def _once(self, call: Call, path: str, params: Params | None, body: Any) -> Any:
        token = await self._access_token()
        response = await self._send(call, path, params=params, body=body, token=token)
        if response.status_code == 401:  # expired or revoked early: one fresh token, once
            self._drop(token)
            token = await self._access_token()
            response = await self._send(call, path, params=params, body=body, token=token)
        self._raise_for(response, call)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(
                f"Microsoft Graph answered {call.method} {call.path} with non-JSON"
            ) from exc

    async def _access_token(self) -> str:
        async with self._lock:
            now = self._hooks.clock()
            if self._token is not None and now < self._expires_at:
                return self._token
            self._token = None
            call = Call(kind="token", method="POST", path="/oauth2/v2.0/token")
            form = {
                "grant_type": "client_credentials",
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret.reveal(),
                "scope": self._scope,
            }
            response = await self._send(call, self._token_url, form=form)
            self._raise_for(response, call)
            token, lifetime = access_token(response, self._token_peer, default_lifetime=300)
            self._expires_at = now + lifetime - min(300.0, lifetime / 10)
            self._token = token
            return token

    def _drop(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def _send(
        self,
        call: Call,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        form: dict[str, str] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await send(
            self._http, self._peer, self._hooks.on_request, call.method, self.url(path),
            what=f"{call.method} {call.path}",
            params=params or None,  # an empty mapping would wipe a nextLink's query
            json=body, data=form, headers=headers,
        )  # fmt: skip

    def _raise_for(self, response: httpx.Response, call: Call) -> None:
        if response.status_code < 400:
            return
        code, message = graph_error(response)
        error = error_for(
            response.status_code,
            call,
            code=code,
            message=message,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
            client_id=self.settings.client_id,
            tenant=self.settings.tenant_id,
        )
        if error is not None:
            raise error
