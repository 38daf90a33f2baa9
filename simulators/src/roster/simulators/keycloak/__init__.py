"""Keycloak Admin REST API simulator: client-credentials tokens, users, groups, admin events.

Test equipment (DESIGN.md §8): behaves like Keycloak 26 as far as a read-only sync client can
tell, including its paging defaults and error bodies. Never used by the product itself.
"""

from roster.simulators.keycloak.app import KeycloakSimulator, create_app
from roster.simulators.keycloak.config import KeycloakSimConfig

__all__ = ["KeycloakSimConfig", "KeycloakSimulator", "create_app"]
