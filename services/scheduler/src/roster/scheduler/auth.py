"""Who may use the admin API and the web UI: bearer tokens with a role.

Every configured token (`scheduler.auth.tokens`) names a principal with the role `viewer`
(reads) or `operator` (also starts syncs and approves or rejects held runs). A request
authenticates with `Authorization: Bearer <token>`, or with the web UI's session cookie;
tokens are compared in constant time against every configured token. Without a valid token
the answer is 401, with too small a role 403. A state-changing request authenticated by the
cookie must also carry the session's CSRF token (`X-CSRF-Token` header or the form field),
so another site cannot make a logged-in browser act; bearer requests need none, because a
browser never adds that header on its own. With `auth.enabled: false` every caller is an
operator named `anonymous` (for a scheduler bound to loopback in a lab only).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request

from roster.shared.settings.scheduler import Role, SchedulerAuth

SESSION_COOKIE = "roster_session"
"""The web UI's session cookie; its value is the API token (HttpOnly, SameSite=Strict)."""
CSRF_HEADER = "X-CSRF-Token"
RANK: dict[str, int] = {"viewer": 0, "operator": 1}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role

    def can(self, role: str) -> bool:
        """True when this principal's role includes `role` (operator includes viewer)."""
        return RANK[self.role] >= RANK[role]


ANONYMOUS = Principal("anonymous", "operator")


def csrf_token_for(token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of a fixed label, keyed by its API token."""
    return hmac.new(token.encode(), b"roster-csrf", hashlib.sha256).hexdigest()


class Authenticator:
    """Resolves the configured token references once, at start (a missing secret fails the
    start with a ConfigurationError naming it), and identifies callers by token."""

    def __init__(self, auth: SchedulerAuth) -> None:
        self.enabled = auth.enabled
        self._tokens = [(t.token.reveal().encode(), Principal(t.name, t.role)) for t in auth.tokens]

    def identify(self, token: str) -> Principal | None:
        """The principal holding `token`, or None. Every configured token is compared (in
        constant time each), so the answer's timing does not tell which one was close."""
        if not self.enabled:
            return ANONYMOUS
        sent = token.encode()
        found: Principal | None = None
        for value, principal in self._tokens:
            if hmac.compare_digest(sent, value):
                found = principal
        return found


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


Dependency = Callable[[Request], Awaitable[Principal]]


class Guard:
    """FastAPI dependencies for the two roles: `Depends(guard.viewer)` / `guard.operator`."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self.viewer = self._require("viewer")
        self.operator = self._require("operator")

    async def principal(self, request: Request) -> Principal:
        if not self.authenticator.enabled:
            return ANONYMOUS
        token = _bearer(request)
        if token is not None:
            found = self.authenticator.identify(token)
        else:
            token = request.cookies.get(SESSION_COOKIE)
            found = self.authenticator.identify(token) if token else None
            if found is not None and token and request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "").encode()
                if not hmac.compare_digest(sent, csrf_token_for(token).encode()):
                    raise HTTPException(
                        403, f"missing or wrong {CSRF_HEADER} for a session request"
                    )
        if found is None:
            detail = "missing or unknown bearer token" if token is None else "unknown token"
            raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
        return found

    def _require(self, role: Role) -> Dependency:
        async def dependency(request: Request) -> Principal:
            principal = await self.principal(request)
            if not principal.can(role):
                raise HTTPException(
                    403, f"{principal.name} has the role {principal.role}; this needs {role}"
                )
            return principal

        dependency.__name__ = f"require_{role}"
        return dependency


OPEN = Guard(Authenticator(SchedulerAuth(enabled=False)))
"""A guard that lets everyone in as operator: for routers built without auth (tests)."""
