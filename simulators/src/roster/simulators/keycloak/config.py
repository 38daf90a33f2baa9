"""Settings of one Keycloak simulator instance: realm, client credentials, directory size.

Built by the CLI (`__main__`) or by tests; the clock is injectable so token expiry and admin
event times can be tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class KeycloakSimConfig:
    realm: str = "roster"
    client_id: str = "roster-sync"
    client_secret: str = "roster-sync-secret"
    users: int = 1000
    groups: int = 50
    memberships: int = 5000
    seed: int = 1
    token_ttl: int = 300
    """Access token lifespan in seconds (Keycloak's realm default is 300)."""
    base_url: str = "http://127.0.0.1:8091"
    """Public URL of the simulator; used as the token issuer prefix."""
    admin_events: bool = True
    """Whether the realm stores admin events (Realm settings → Events → Admin events)."""
    clock: Callable[[], float] = field(default=time.time)
    """Wall clock in epoch seconds."""
