"""Microsoft Entra ID simulator: the v2.0 token endpoint and the Microsoft Graph v1.0 reads,
delta queries and change-notification subscriptions Roster uses (idp-apis.md §1)."""

from roster.simulators.entra.app import EntraSimulator, create_app
from roster.simulators.entra.state import EntraSimConfig

__all__ = ["EntraSimConfig", "EntraSimulator", "create_app"]
