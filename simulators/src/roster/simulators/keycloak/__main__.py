"""Command line: `python -m roster.simulators.keycloak --port 8091 --client-secret s3cret`.

Parses flags into a `KeycloakSimConfig` and serves the app with uvicorn; nothing else.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from roster.simulators.keycloak.app import create_app
from roster.simulators.keycloak.config import KeycloakSimConfig


def parse_args(argv: Sequence[str] | None = None) -> tuple[KeycloakSimConfig, str, int]:
    parser = argparse.ArgumentParser(
        prog="python -m roster.simulators.keycloak", description="Keycloak Admin REST API simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--realm", default="roster")
    parser.add_argument("--client-id", default="roster-sync")
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--memberships", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--token-ttl", type=int, default=300, help="access token lifespan, s")
    parser.add_argument(
        "--base-url",
        default=None,
        help="public URL used in token issuer (default http://HOST:PORT)",
    )
    parser.add_argument(
        "--no-admin-events",
        action="store_true",
        help="realm does not store admin events (GET /admin-events is empty)",
    )
    args = parser.parse_args(argv)
    config = KeycloakSimConfig(
        realm=args.realm,
        client_id=args.client_id,
        client_secret=args.client_secret,
        users=args.users,
        groups=args.groups,
        memberships=args.memberships,
        seed=args.seed,
        token_ttl=args.token_ttl,
        base_url=args.base_url or f"http://{args.host}:{args.port}",
        admin_events=not args.no_admin_events,
    )
    return config, args.host, args.port


def main(argv: Sequence[str] | None = None) -> None:
    config, host, port = parse_args(argv)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
