"""Everything one simulator instance holds, wired from its config (the composition root's data).

The realm store, token issuer, admin event log, fault switches and request log live here so
handlers receive one object; no handler keeps module-level state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from roster.simulators.common.faults import Faults, RequestLog
from roster.simulators.directory import Directory, DirectoryUser, generate_directory
from roster.simulators.keycloak.config import KeycloakSimConfig
from roster.simulators.keycloak.events import AdminEventLog
from roster.simulators.keycloak.store import RealmStore
from roster.simulators.keycloak.tokens import TokenIssuer

_NAMESPACE = uuid.UUID("6a1c9a5e-2f4b-4c1e-9a57-0d5e8f7b3c21")


def stable_id(*parts: str) -> str:
    """Ids of fixed realm objects (realm, service account) stay the same across runs."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass
class SimState:
    config: KeycloakSimConfig
    store: RealmStore
    tokens: TokenIssuer
    events: AdminEventLog
    faults: Faults
    requests: RequestLog
    realm_id: str

    def regenerate(self, *, users: int, groups: int, memberships: int, seed: int) -> None:
        self.store.replace(generate_directory(users, groups, memberships, seed))
        self.events.clear()

    def clear(self) -> None:
        self.store.replace(Directory())
        self.events.clear()


def build_state(config: KeycloakSimConfig) -> SimState:
    realm_id = stable_id("realm", config.realm)
    service_account = DirectoryUser(
        id=stable_id("service-account", config.realm, config.client_id),
        username=f"service-account-{config.client_id}",
        email="",
        first_name="",
        last_name="",
        email_verified=False,
        created_ms=1_546_300_800_000,
    )
    directory = generate_directory(config.users, config.groups, config.memberships, config.seed)
    return SimState(
        config=config,
        store=RealmStore(directory, service_account),
        tokens=TokenIssuer(
            issuer=f"{config.base_url.rstrip('/')}/realms/{config.realm}",
            client_id=config.client_id,
            subject=service_account.id,
            ttl=config.token_ttl,
            clock=config.clock,
        ),
        events=AdminEventLog(
            realm_id=realm_id,
            auth_details={
                "realmId": stable_id("realm", "master"),
                "clientId": stable_id("client", "master", "admin-cli"),
                "userId": stable_id("user", "master", "admin"),
                "ipAddress": "127.0.0.1",
            },
            clock=config.clock,
            enabled=config.admin_events,
        ),
        faults=Faults(),
        requests=RequestLog(),
        realm_id=realm_id,
    )
