"""Which connector serves which IdP kind: the one place a new kind is plugged in."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from roster.fetcher.connectors.base import Connector, ConnectorHooks
from roster.fetcher.connectors.entra import EntraConnector
from roster.fetcher.connectors.google import GoogleConnector
from roster.fetcher.connectors.keycloak import KeycloakConnector
from roster.fetcher.connectors.okta import OktaConnector
from roster.fetcher.connectors.scim import ScimConnector
from roster.shared.config import DirectorySettings
from roster.shared.errors import ConfigurationError

Factory = Callable[[DirectorySettings, httpx.AsyncClient, ConnectorHooks], Connector]

CONNECTORS: dict[str, Factory] = {
    "keycloak": KeycloakConnector,
    "entra": EntraConnector,
    "okta": OktaConnector,
    "google": GoogleConnector,
    "scim": ScimConnector,
}


def supported(kind: str) -> bool:
    return kind in CONNECTORS


def connector_for(
    directory: DirectorySettings,
    http: httpx.AsyncClient,
    *,
    hooks: ConnectorHooks | None = None,
) -> Connector:
    factory = CONNECTORS.get(directory.kind)
    if factory is None:
        raise ConfigurationError(
            f"directories.{directory.id}.kind: no connector for kind '{directory.kind}' yet"
        )
    return factory(directory, http, hooks or ConnectorHooks())
