"""Everything one simulator instance holds: the org's data, credentials, rate-limit windows,
fault settings, the request log and the event hooks. Built from `OktaSimConfig`."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from roster.simulators.common.faults import Faults, RequestLog
from roster.simulators.okta.config import OktaSimConfig
from roster.simulators.okta.store import Store
from roster.simulators.okta.wire import OAuthError, OktaError, invalid_token, rate_limited

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(slots=True)
class OAuthClient:
    client_id: str
    public_key: rsa.RSAPublicKey
    scopes: frozenset[str]


@dataclass(slots=True)
class Window:
    start: float
    used: int = 0


@dataclass(slots=True)
class Storm:
    """The next `remaining` API requests are answered 429, reset `reset_seconds` ahead."""

    remaining: int = 0
    reset_seconds: int = 5


@dataclass
class SimState:
    config: OktaSimConfig
    store: Store
    faults: Faults = field(default_factory=Faults)
    requests: RequestLog = field(default_factory=RequestLog)
    token_ttl: int = 3600
    tokens: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict)
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    used_jti: set[str] = field(default_factory=set)
    limits: dict[str, int] = field(default_factory=dict)
    windows: dict[str, Window] = field(default_factory=dict)
    storm: Storm = field(default_factory=Storm)
    log_retention: int = 90 * 86400
    hooks: Any = None
    """`EventHooks` (set by the app)."""

    # ------------------------------------------------------------------ credentials

    def register_client(self, client_id: str, public_key_pem: str, scopes: list[str]) -> None:
        key = serialization.load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("public key must be RSA")
        self.clients[client_id] = OAuthClient(client_id, key, frozenset(scopes))

    def scopes_for(self, authorization: str | None) -> frozenset[str]:
        """The scopes the request's credentials carry; raises 401 when they are not valid."""
        if authorization is None:
            raise invalid_token()
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme == "SSWS" and hmac.compare_digest(value.encode(), self.config.api_token.encode()):
            return frozenset({"*"})
        if scheme == "Bearer":
            found = self.tokens.get(value)
            if found is not None and self.config.clock() < found[0]:
                return found[1]
        raise invalid_token()

    def issue_token(self, form: dict[str, str], audience: str) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(
                400, "unsupported_grant_type", "The authorization grant type is not supported."
            )
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise OAuthError(
                401, "invalid_client", "Client authentication failed: private_key_jwt required."
            )
        claims = self._verify_assertion(form["client_assertion"], audience)
        client = self.clients[claims["iss"]]
        requested = frozenset(form.get("scope", "").split())
        if not requested:
            raise OAuthError(400, "invalid_scope", "The authorization server requires a scope.")
        if not requested <= client.scopes:
            missing = " ".join(sorted(requested - client.scopes))
            raise OAuthError(
                400, "invalid_scope", f"The following scopes are not granted: {missing}"
            )
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (self.config.clock() + self.token_ttl, requested)
        return {
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
            "access_token": token,
            "scope": " ".join(sorted(requested)),
        }

    def _verify_assertion(self, assertion: str, audience: str) -> dict[str, Any]:
        def fail(why: str) -> OAuthError:
            return OAuthError(401, "invalid_client", f"The client_assertion is invalid: {why}")

        parts = assertion.split(".")
        if len(parts) != 3:
            raise fail("not a JWS")
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except ValueError:
            raise fail("malformed") from None
        if header.get("alg") != "RS256":
            raise fail("alg must be RS256")
        client = self.clients.get(str(claims.get("iss")))
        if client is None or claims.get("sub") != claims.get("iss"):
            raise fail("unknown client (iss and sub must be the client_id)")
        try:
            client.public_key.verify(
                signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise fail("signature does not match the registered key") from None
        now = self.config.clock()
        if claims.get("aud") != audience:
            raise fail(f"aud must be {audience}")
        exp, iat = claims.get("exp"), claims.get("iat", now)
        if not isinstance(exp, int | float) or exp <= now:
            raise fail("expired")
        if exp - iat > 3600:
            raise fail("exp may be at most one hour after iat")
        jti = claims.get("jti")
        if not jti or jti in self.used_jti:
            raise fail("jti missing or already used")
        self.used_jti.add(str(jti))
        return dict(claims)

    def revoke_all(self) -> int:
        count = len(self.tokens)
        self.tokens.clear()
        return count

    # ------------------------------------------------------------------ rate limits

    def take(self, bucket: str) -> dict[str, str]:
        """Count one request against `bucket`'s per-minute window; the `X-Rate-Limit-*`
        headers for the answer. Raises 429 (with those headers) when the window is spent."""
        now = self.config.clock()
        if self.storm.remaining > 0:
            self.storm.remaining -= 1
            reset = int(now) + self.storm.reset_seconds
            headers = {
                "X-Rate-Limit-Limit": "0",
                "X-Rate-Limit-Remaining": "0",
                "X-Rate-Limit-Reset": str(reset),
            }
            raise _with_headers(rate_limited(), headers)
        limit = self.limits.get(bucket, self.limits.get("other", 1200))
        start = float(int(now // 60) * 60)
        window = self.windows.get(bucket)
        if window is None or window.start != start:
            window = self.windows[bucket] = Window(start)
        headers = {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Reset": str(int(start + 60))}
        if window.used >= limit:
            headers["X-Rate-Limit-Remaining"] = "0"
            raise _with_headers(rate_limited(), headers)
        window.used += 1
        headers["X-Rate-Limit-Remaining"] = str(limit - window.used)
        return headers


def _with_headers(error: OktaError, headers: dict[str, str]) -> OktaError:
    error.headers.update(headers)
    return error


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("bad base64url") from exc


def build_state(config: OktaSimConfig) -> SimState:
    store = Store(config.clock)
    store.generate(
        users=config.users, groups=config.groups, memberships=config.memberships, seed=config.seed
    )
    state = SimState(
        config=config,
        store=store,
        token_ttl=config.token_ttl,
        limits=dict(config.limits),
        log_retention=config.log_retention_seconds,
    )
    if config.client_id is not None and config.public_key_pem is not None:
        state.register_client(config.client_id, config.public_key_pem, list(config.client_scopes))
    return state
