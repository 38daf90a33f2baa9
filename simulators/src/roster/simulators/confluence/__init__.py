"""Confluence Data Center simulator (7.13 / 8.2 / 8.4 / 9.3) for the demo, tests and benchmarks.

It imitates the REST and JSON-RPC user-management contract in `reference/confluence-dc-api.md`,
quirks included, and adds `/_sim/*` control routes. Run it with
`python -m roster.simulators.confluence` or build it in-process with `create_app(SimConfig(...))`.
"""

from roster.simulators.confluence.app import SimApp, create_app
from roster.simulators.confluence.config import SUPPORTED_VERSIONS, SimConfig
from roster.simulators.confluence.ratelimit import RateLimitSettings

__all__ = ["SUPPORTED_VERSIONS", "RateLimitSettings", "SimApp", "SimConfig", "create_app"]
