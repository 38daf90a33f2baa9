"""Command line: `python -m roster.simulators.entra --port 8091 --client-secret s3cret`.

Parses flags into an `EntraSimConfig` and serves the app with uvicorn; nothing else.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from roster.simulators.entra.app import create_app
from roster.simulators.entra.state import EntraSimConfig


def parse_args(argv: Sequence[str] | None = None) -> tuple[EntraSimConfig, str, int]:
    parser = argparse.ArgumentParser(
        prog="python -m roster.simulators.entra", description="Microsoft Graph (Entra ID) simulator"
    )
    defaults = EntraSimConfig()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--tenant-id", default=defaults.tenant_id)
    parser.add_argument("--domain", default=defaults.domain)
    parser.add_argument("--client-id", default=defaults.client_id)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--memberships", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--token-ttl", type=int, default=3599, help="access token lifetime, s")
    parser.add_argument("--rate-limit-ru", type=int, default=0, help="resource units per 10 s")
    args = parser.parse_args(argv)
    config = EntraSimConfig(
        tenant_id=args.tenant_id,
        domain=args.domain,
        client_id=args.client_id,
        client_secret=args.client_secret,
        users=args.users,
        groups=args.groups,
        memberships=args.memberships,
        seed=args.seed,
        token_ttl=args.token_ttl,
        rate_limit_ru=args.rate_limit_ru,
    )
    return config, args.host, args.port


def main(argv: Sequence[str] | None = None) -> None:
    config, host, port = parse_args(argv)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
