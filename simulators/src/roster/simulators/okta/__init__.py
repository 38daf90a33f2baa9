"""Okta Management API simulator (idp-apis.md §2): users, groups, members, System Log,
SSWS and private_key_jwt OAuth, `X-Rate-Limit-*` pacing and 429s, Event Hooks, faults."""

from roster.simulators.okta.app import OktaSimulator, create_app
from roster.simulators.okta.config import OktaSimConfig

__all__ = ["OktaSimConfig", "OktaSimulator", "create_app"]
