"""`POST /realms/{realm}/protocol/openid-connect/token` for the client_credentials grant.

Checks in Keycloak's order: realm, grant_type, then client authentication (HTTP Basic, or
`client_id`/`client_secret` form fields, the form winning). Error codes and descriptions are
Keycloak's own: an unknown client is `invalid_client`, a wrong secret `unauthorized_client`.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import Response

from roster.simulators.keycloak.errors import KeycloakError, json_response, not_found
from roster.simulators.keycloak.state import SimState

_BAD_CLIENT = "Invalid client or Invalid client credentials"
_FORM = "application/x-www-form-urlencoded"


async def token_endpoint(state: SimState, request: Request, realm: str) -> Response:
    if realm != state.config.realm:
        raise not_found("Realm does not exist")
    is_form = request.headers.get("content-type", "").split(";")[0].strip().lower() == _FORM
    form: dict[str, str] = {}
    if is_form:  # parsed by hand: Starlette's form parser needs python-multipart
        for key, value in parse_qsl((await request.body()).decode("utf-8", "replace")):
            form.setdefault(key, value)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise KeycloakError(400, "invalid_request", "Missing form parameter: grant_type")
    if grant_type != "client_credentials":
        raise KeycloakError(400, "unsupported_grant_type", "Unsupported grant_type")
    client_id, secret = _basic_credentials(request.headers.get("authorization"))
    client_id = form.get("client_id", client_id)
    secret = form.get("client_secret", secret)
    if client_id is None:
        raise KeycloakError(400, "invalid_client", "Missing client_id parameter")
    if client_id != state.config.client_id:
        raise KeycloakError(401, "invalid_client", _BAD_CLIENT)
    if secret != state.config.client_secret:
        raise KeycloakError(401, "unauthorized_client", _BAD_CLIENT)
    return json_response(state.tokens.issue(), headers={"Cache-Control": "no-store"})


def _basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """RFC 6749 §2.3.1 Basic: both parts form-url-encoded before base64, as Keycloak decodes."""
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None, None
    return unquote_plus(user), unquote_plus(password)
