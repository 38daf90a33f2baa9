"""Google Admin SDK transport: service-account JWT grant, authenticated calls, page tokens.

The token comes from an RS256 assertion (google-auth's signer, `sub` = the delegated admin),
renewed before it expires and once on a 401; the key is never logged. `error_for` is the one
place a Google status becomes a Roster error: 403 rate-limit reasons, 429 and 5xx are
throttling (retried with backoff), other 403s are permission problems."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from google.auth import crypt
from google.auth import jwt as google_jwt

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.connectors.http import (
    Peer,
    access_token,
    retry_after_seconds,
    send,
    with_retries,
)
from roster.fetcher.core.google import (
    THROTTLE_REASONS,
    JsonObject,
    error_message,
    error_reason,
    listing,
)
from roster.shared.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    RejectedError,
    RosterError,
    TransientError,
)
from roster.shared.settings.google import GoogleSettings

SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
    "https://www.googleapis.com/auth/admin.reports.audit.readonly",
)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
Params = Mapping[str, str | int]


@dataclass(frozen=True)
class Call:
    kind: str
    """token, users, user, groups, group, members, activities, watch, stop."""
    method: str
    path: str


@dataclass(frozen=True)
class ServiceAccountKey:
    client_email: str
    token_uri: str
    info: dict[str, Any]


def load_key(settings: GoogleSettings, directory: str) -> ServiceAccountKey:
    field = f"directories.{directory}.google.credentials"
    try:
        info = json.loads(settings.credentials.reveal())
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{field}: not a JSON service-account key file") from exc
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigurationError(
            f"{field}: not a service-account key file (type != service_account)"
        )
    for key in ("client_email", "private_key"):
        if not isinstance(info.get(key), str) or not info[key]:
            raise ConfigurationError(f"{field}: key file has no '{key}'")
    token_uri = settings.token_uri or info.get("token_uri") or "https://oauth2.googleapis.com/token"
    return ServiceAccountKey(client_email=info["client_email"], token_uri=token_uri, info=info)


def error_for(
    status: int,
    call: Call,
    *,
    body: Any,
    subject: str,
    client_email: str,
    retry_after: float | None = None,
) -> RosterError | None:
    """The Roster error a Google answer means, or None for success. The only such mapping."""
    if status < 400:
        return None
    where = f"{call.method} {call.path}"
    detail = error_message(body)
    suffix = f": {detail}" if detail else ""
    reason = error_reason(body)
    if status in (408, 429) or status >= 500 or (status == 403 and reason in THROTTLE_REASONS):
        label = f"throttled ({reason or status})" if status in (403, 429) else f"answered {status}"
        return TransientError(
            f"Google {label} on {where}{suffix}", retry_after=retry_after, status=status
        )
    if call.kind == "token":
        return PermanentError(
            f"Google refused a token for service account {client_email} impersonating "
            f"{subject} ({status}{suffix}): check the key file, that domain-wide delegation "
            f"grants the scopes {', '.join(SCOPES)} to its client id, and that {subject} is an "
            "admin",
            status=status,
        )
    if status == 401:
        return PermanentError(
            f"Google refused a freshly issued token (401 on {where}{suffix})", status=status
        )
    if status == 403:
        return RejectedError(
            f"Google denied {where} (403{suffix}): {subject} must be an admin allowed to read "
            "users, groups and reports, and delegation must grant the read-only scopes",
            status=status,
        )
    if status == 404:
        return NotFoundError(f"Google has no {where} (404{suffix})", status=status)
    return RejectedError(f"Google rejected {where} ({status}{suffix})", status=status)


class GoogleClient:
    def __init__(
        self,
        directory: str,
        settings: GoogleSettings,
        http: httpx.AsyncClient,
        hooks: ConnectorHooks,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.settings = settings
        self._http = http
        self._peer = Peer("Google", "google.base_url / google.token_uri")
        self._hooks = hooks
        self._base = settings.base_url.rstrip("/")
        self._key: ServiceAccountKey | None = None
        self._signer: crypt.RSASigner | None = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self._wall = wall_clock
        """Epoch seconds for the JWT's `iat` / `exp` (the token endpoint checks them)."""

    @property
    def key(self) -> ServiceAccountKey:
        if self._key is None:
            self._key = load_key(self.settings, self.directory)
        return self._key

    async def get(
        self, path: str, params: Params, *, kind: str, attempts: int | None = None
    ) -> Any:
        return await self.request("GET", path, params=params, kind=kind, attempts=attempts)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: JsonObject | None = None,
        kind: str,
        attempts: int | None = None,
    ) -> Any:
        """One API call with finite retries; `path` is below the base URL (`/admin/...`)."""
        call = Call(kind=kind, method=method, path=path)
        return await with_retries(
            lambda: self._once(call, params, body),
            retry=self._hooks.retry,
            sleep=self._hooks.sleep,
            max_attempts=attempts,
        )

    async def pages(
        self, path: str, params: Params, *, key: str, kind: str
    ) -> AsyncIterator[list[JsonObject]]:
        """`pageToken` / `nextPageToken` paging; yields every page (an empty one included)."""
        token: str | None = None
        while True:
            query = dict(params)
            if token is not None:
                query["pageToken"] = token
            items, token = listing(await self.get(path, query, kind=kind), key, what=f"GET {path}")
            yield items
            if token is None:
                return

    async def _once(self, call: Call, params: Params | None, body: JsonObject | None) -> Any:
        token = await self._access_token()
        response = await self._send(call, params=params, body=body, token=token)
        if response.status_code == 401:  # expired or revoked early: one fresh token, once
            self._drop(token)
            token = await self._access_token()
            response = await self._send(call, params=params, body=body, token=token)
        self._raise_for(response, call)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(
                f"Google answered {call.method} {call.path} with non-JSON"
            ) from exc

    def _assertion(self) -> str:
        key = self.key
        if self._signer is None:
            try:
                self._signer = crypt.RSASigner.from_service_account_info(key.info)  # type: ignore[no-untyped-call]
            except (ValueError, KeyError) as exc:
                raise ConfigurationError(
                    f"directories.{self.directory}.google.credentials: unusable private key"
                ) from exc
        now = int(self._wall())
        claims = {
            "iss": key.client_email,
            "sub": self.settings.subject,
            "aud": key.token_uri,
            "scope": " ".join(SCOPES),
            "iat": now,
            "exp": now + 3600,
        }
        signed: bytes = google_jwt.encode(self._signer, claims)  # type: ignore[no-untyped-call]
        return signed.decode()

    async def _access_token(self) -> str:
        async with self._lock:
            now = self._hooks.clock()
            if self._token is not None and now < self._expires_at:
                return self._token
            self._token = None
            call = Call(kind="token", method="POST", path="token")
            form = {"grant_type": JWT_BEARER, "assertion": self._assertion()}
            response = await self._send(call, data=form)
            self._raise_for(response, call)
            token, lifetime = access_token(response, self._peer, default_lifetime=3600)
            self._expires_at = now + lifetime - min(60.0, lifetime / 10)
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
        body: JsonObject | None = None,
        data: dict[str, str] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        url = self.key.token_uri if call.kind == "token" else self._base + call.path
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await send(
            self._http, self._peer, self._hooks.on_request, call.method, url,
            what=f"{call.method} {call.path}", params=params, data=data, json=body,
            headers=headers,
        )  # fmt: skip

    def _raise_for(self, response: httpx.Response, call: Call) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()
        except ValueError:
            body = None
        error = error_for(
            response.status_code,
            call,
            body=body,
            subject=self.settings.subject,
            client_email=self.key.client_email,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
        if error is not None:
            raise error
