"""Client-credentials access tokens of the simulated realm: issue, look up, expire.

Tokens look like Keycloak's RS256 JWTs (three base64url parts with the usual claims) but are
checked by lookup, not by signature. A token is refused from `iat + ttl` on; the clock is
injected so expiry is testable without sleeping.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any

SERVICE_ACCOUNT_ROLES = ("view-users", "query-users", "query-groups", "view-events")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        subject: str,
        ttl: int,
        clock: Callable[[], float],
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.subject = subject
        self.ttl = ttl
        """Lifespan in seconds of tokens issued from now on."""
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._kid = _b64(secrets.token_bytes(32))

    def issue(self) -> dict[str, Any]:
        """The token endpoint's JSON body for a successful client_credentials grant."""
        now = self._clock()
        claims = {
            "exp": int(now) + self.ttl,
            "iat": int(now),
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": ["realm-management", "account"],
            "sub": self.subject,
            "typ": "Bearer",
            "azp": self.client_id,
            "acr": "1",
            "resource_access": {"realm-management": {"roles": list(SERVICE_ACCOUNT_ROLES)}},
            "scope": "profile email",
            "clientId": self.client_id,
            "email_verified": False,
            "preferred_username": f"service-account-{self.client_id}",
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self._kid}
        token = ".".join(
            (
                _b64(json.dumps(header, separators=(",", ":")).encode()),
                _b64(json.dumps(claims, separators=(",", ":")).encode()),
                _b64(secrets.token_bytes(256)),
            )
        )
        if len(self._expiry) > 10_000:
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
        self._expiry[token] = now + self.ttl
        return {
            "access_token": token,
            "expires_in": self.ttl,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "profile email",
        }

    def is_valid(self, token: str) -> bool:
        expiry = self._expiry.get(token)
        return expiry is not None and self._clock() < expiry

    def revoke_all(self) -> int:
        count = len(self._expiry)
        self._expiry.clear()
        return count
