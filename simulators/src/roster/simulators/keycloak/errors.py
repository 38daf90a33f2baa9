"""Keycloak's error bodies, raised as exceptions by the admin API and token handlers.

Keycloak maps most failures to `{"error": "<message>"}` (admin API) or to the OAuth form
`{"error", "error_description"}` (token endpoint); only this module builds those bodies.
"""

from __future__ import annotations

import json

from starlette.responses import Response

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class KeycloakError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        description: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}

    def response(self) -> Response:
        body: dict[str, str] = {"error": self.error}
        if self.description is not None:
            body["error_description"] = self.description
        return json_response(body, status=self.status, headers=self.headers)


def json_response(
    body: object, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = _encode(body).encode()
    return Response(content, status_code=status, headers=headers, media_type="application/json")


def unauthorized() -> KeycloakError:
    """A missing, unknown or expired bearer token on the admin API."""
    return KeycloakError(401, "HTTP 401 Unauthorized", headers={"WWW-Authenticate": "Bearer"})


def not_found(message: str = "HTTP 404 Not Found") -> KeycloakError:
    return KeycloakError(404, message)


def forbidden() -> KeycloakError:
    return KeycloakError(403, "HTTP 403 Forbidden")


def server_error() -> KeycloakError:
    """What Keycloak answers when a query value fails Java enum parsing (an uncaught error)."""
    return KeycloakError(500, "unknown_error", "For more on this error consult the server log.")
