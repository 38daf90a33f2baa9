"""Okta transport: SSWS or OAuth `private_key_jwt` auth, rate-limit pacing, `Link` paging.

Secrets are revealed only into a request. Each kind of call keeps its `X-Rate-Limit-*`
budget: at the reserve the next call waits for the reset; a 429 waits until `Reset − Date`
of the answer. `error_for` is the one place an Okta status becomes a Roster error.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.connectors.http import Peer, access_token, send, with_retries
from roster.fetcher.core.okta import JsonObject, objects
from roster.shared.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    RejectedError,
    RosterError,
    TransientError,
)
from roster.shared.settings.base import SecretRef
from roster.shared.settings.okta import OktaSettings

Params = Mapping[str, str | int]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300
SCOPE_FOR = {
    "users": "okta.users.read",
    "user": "okta.users.read",
    "groups": "okta.groups.read",
    "group": "okta.groups.read",
    "members": "okta.groups.read",
    "logs": "okta.logs.read",
}
"""The OAuth scope (or admin permission) a 403 on each kind of call points to."""


@dataclass(frozen=True)
class Call:
    kind: str
    """token, users, user, groups, group, members, logs."""
    method: str
    path: str


def secret_hint(ref: SecretRef) -> str:
    return f"environment variable {ref.env}" if ref.env is not None else f"file {ref.file}"


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    keys = ("errorCode", "errorSummary", "error", "error_description")
    parts = [str(body[k]) for k in keys if body.get(k)]
    causes = body.get("errorCauses")
    if isinstance(causes, list):
        parts += [str(c.get("errorSummary")) for c in causes if isinstance(c, dict)]
    return (": " + " - ".join(parts))[:300] if parts else ""


def error_for(
    status: int, call: Call, *, auth: str, detail: str = "", retry_after: float | None = None
) -> RosterError | None:
    """The Roster error an Okta answer means, or None for success. The only such mapping."""
    if status < 400:
        return None
    where = f"{call.method} {call.path}"
    if status in (408, 429) or status >= 500:
        return TransientError(
            f"Okta answered {status} to {where}{detail}", retry_after=retry_after, status=status
        )
    if call.kind == "token":
        if status == 404:
            return ConfigurationError(
                f"Okta has no token endpoint at {where} (404): check okta.org_url", status=status
            )
        return PermanentError(
            f"Okta refused the client assertion ({status}{detail}): check okta.oauth.client_id, "
            f"that the app's public key matches okta.oauth.private_key ({auth}) and its scopes",
            status=status,
        )
    if status == 401:
        return PermanentError(
            f"Okta rejected the credentials (401 on {where}{detail}): check {auth}", status=status
        )
    if status == 403:
        scope = SCOPE_FOR.get(call.kind, "okta.users.read")
        return RejectedError(
            f"Okta denied {where} (403{detail}): the token needs '{scope}' (grant the scope "
            "to the service app, or use an admin with read access)",
            status=status,
        )
    if status == 404:
        return NotFoundError(f"Okta has no {where} (404{detail})", status=status)
    return RejectedError(f"Okta rejected {where} ({status}{detail})", status=status)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_assertion(
    client_id: str, audience: str, key: rsa.RSAPrivateKey, *, kid: str | None, now: float
) -> str:
    """An RS256 JWT: `iss` = `sub` = client id, `aud` = the token URL, five minutes, fresh jti."""
    header: dict[str, str] = {"alg": "RS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + ASSERTION_LIFETIME,
        "jti": str(uuid.uuid4()),
    }
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def server_now(response: httpx.Response) -> float:
    dates = response.headers.get_list("date")  # a proxy may add a second one: the first is
    date = dates[0] if dates else None  # the origin's
    if date:
        try:
            return email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            pass
    return time.time()


@dataclass
class Budget:
    limit: int
    remaining: int
    ready_at: float
    """`hooks.clock()` time at which the endpoint's window resets."""


class OktaClient:
    def __init__(
        self, directory: str, settings: OktaSettings, http: httpx.AsyncClient, hooks: ConnectorHooks
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.base = settings.org_url.rstrip("/")
        self._http = http
        self._peer = Peer("Okta", "okta.org_url", where=self.base)
        self._hooks = hooks
        self._token_url = f"{self.base}/oauth2/v1/token"
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self._budgets: dict[str, Budget] = {}
        self._key: rsa.RSAPrivateKey | None = None
        if settings.oauth is not None:
            self.auth_hint = f"okta.oauth.private_key ({secret_hint(settings.oauth.private_key)})"
        else:
            assert settings.api_token is not None
            self.auth_hint = f"okta.api_token ({secret_hint(settings.api_token)})"

    # ------------------------------------------------------------------ requests

    async def get(
        self, path: str, params: Params, *, kind: str, attempts: int | None = None
    ) -> Any:
        """GET a path (or a full `next` URL) as decoded JSON, with finite retries."""
        body, _ = await self.get_response(path, params, kind=kind, attempts=attempts)
        return body

    async def get_response(
        self, path: str, params: Params | None, *, kind: str, attempts: int | None = None
    ) -> tuple[Any, httpx.Response]:
        call = Call(kind=kind, method="GET", path=path.removeprefix(self.base).split("?")[0])
        url = path if path.startswith(("http://", "https://")) else self.base + path
        return await with_retries(
            lambda: self._get_once(call, url, params),
            retry=self._hooks.retry,
            sleep=self._hooks.sleep,
            max_attempts=attempts,
        )

    async def pages(
        self, path: str, params: Params, *, kind: str, stop_short: int | None = None
    ) -> AsyncIterator[list[JsonObject]]:
        """Every page, following `Link: <…>; rel="next"` until there is none (or, for a System
        Log polling query that always has one, until a page shorter than `stop_short`)."""
        url: str | None = path
        query: Params | None = params
        while url is not None:
            body, response = await self.get_response(url, query, kind=kind)
            page = objects(body, what=f"GET {path}")
            yield page
            if stop_short is not None and len(page) < stop_short:
                return
            following = response.links.get("next", {}).get("url")
            if following is not None and not following.startswith(self.base):
                raise PermanentError(f"Okta sent a next link off the org: {following[:100]}")
            url, query = following, None

    async def _get_once(
        self, call: Call, url: str, params: Params | None
    ) -> tuple[Any, httpx.Response]:
        await self._pace(call.kind)
        authorization = await self._authorization()
        response = await self._send(
            call, url, params=params, headers={"Authorization": authorization}
        )
        if response.status_code == 401 and self.settings.oauth is not None:
            self._drop(authorization)  # expired or revoked early: one fresh token, once
            authorization = await self._authorization()
            response = await self._send(
                call, url, params=params, headers={"Authorization": authorization}
            )
        self._raise_for(response, call)
        try:
            return response.json(), response
        except ValueError as exc:
            raise PermanentError(f"Okta answered GET {call.path} with non-JSON") from exc

    # ------------------------------------------------------------------ pacing

    async def _pace(self, bucket: str) -> None:
        budget = self._budgets.get(bucket)
        if budget is None:
            return
        reserve = int(budget.limit * self.settings.rate_limit_reserve)
        wait = budget.ready_at - self._hooks.clock()
        if budget.remaining <= reserve and wait > 0:
            await self._hooks.sleep(min(wait, self.settings.max_pace_wait_seconds))
            del self._budgets[bucket]

    def _note_budget(self, bucket: str, response: httpx.Response) -> float | None:
        """Remember the endpoint's budget; seconds until its reset (None without headers)."""
        headers = response.headers
        try:
            limit = int(headers["x-rate-limit-limit"])
            remaining = int(headers["x-rate-limit-remaining"])
            reset = float(headers["x-rate-limit-reset"])
        except (KeyError, ValueError):
            return None
        until_reset = max(0.0, reset - server_now(response)) + 1.0  # Date has 1 s resolution
        self._budgets[bucket] = Budget(limit, remaining, self._hooks.clock() + until_reset)
        return until_reset

    # ------------------------------------------------------------------ credentials

    async def _authorization(self) -> str:
        if self.settings.api_token is not None:
            return f"SSWS {self.settings.api_token.reveal()}"
        return f"Bearer {await self._access_token()}"

    def _private_key(self) -> rsa.RSAPrivateKey:
        if self._key is None:
            assert self.settings.oauth is not None
            pem = self.settings.oauth.private_key.reveal().encode()
            try:
                key = serialization.load_pem_private_key(pem, password=None)
            except (ValueError, TypeError) as exc:
                raise ConfigurationError(
                    f"okta.oauth.private_key: not an unencrypted PEM private key ({self.auth_hint})"
                ) from exc
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ConfigurationError("okta.oauth.private_key: must be an RSA key (RS256)")
            self._key = key
        return self._key

    async def _access_token(self) -> str:
        async with self._lock:
            now = self._hooks.clock()
            if self._token is not None and now < self._expires_at:
                return self._token
            self._token = None
            oauth = self.settings.oauth
            assert oauth is not None
            assertion = client_assertion(
                oauth.client_id,
                self._token_url,
                self._private_key(),
                kid=oauth.key_id,
                now=time.time(),
            )
            form = {
                "grant_type": "client_credentials",
                "scope": " ".join(oauth.scopes),
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            }
            call = Call(kind="token", method="POST", path="/oauth2/v1/token")

            async def fetch() -> httpx.Response:
                response = await self._send(call, self._token_url, data=form)
                self._raise_for(response, call)
                return response

            response = await with_retries(fetch, retry=self._hooks.retry, sleep=self._hooks.sleep)
            token, lifetime = access_token(response, self._peer, default_lifetime=3600)
            self._expires_at = now + lifetime - min(60.0, lifetime / 10)
            self._token = token
            return token

    def _drop(self, authorization: str) -> None:
        if self._token is not None and authorization.endswith(self._token):
            self._token = None

    # ------------------------------------------------------------------ transport

    async def _send(
        self,
        call: Call,
        url: str,
        *,
        params: Params | None = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return await send(
            self._http, self._peer, self._hooks.on_request, call.method, url,
            what=f"{call.method} {call.path}", params=params, data=data,
            headers={"Accept": "application/json", **(headers or {})},
        )  # fmt: skip

    def _raise_for(self, response: httpx.Response, call: Call) -> None:
        until_reset = self._note_budget(call.kind, response)
        if response.status_code < 400:
            return
        retry_after = until_reset if response.status_code == 429 else None
        error = error_for(
            response.status_code,
            call,
            auth=self.auth_hint,
            detail=_detail(response),
            retry_after=retry_after,
        )
        if error is not None:
            raise error
