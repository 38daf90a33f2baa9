"""Command line: `python -m roster.simulators.okta --port 8092 --api-token TOKEN`.

Parses flags into an `OktaSimConfig` and serves the app with uvicorn; nothing else.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from roster.simulators.okta.app import create_app
from roster.simulators.okta.config import OktaSimConfig


def parse_args(argv: Sequence[str] | None = None) -> tuple[OktaSimConfig, str, int]:
    parser = argparse.ArgumentParser(
        prog="python -m roster.simulators.okta", description="Okta API simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8092)
    parser.add_argument("--api-token", required=True, help="the SSWS API token the org accepts")
    parser.add_argument("--client-id", default=None, help="OAuth service app id (private_key_jwt)")
    parser.add_argument("--public-key", type=Path, default=None, help="PEM public key of that app")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--memberships", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--token-ttl", type=int, default=3600, help="OAuth access token lifetime, s"
    )
    parser.add_argument("--base-url", default=None, help="public URL (default http://HOST:PORT)")
    args = parser.parse_args(argv)
    if (args.client_id is None) != (args.public_key is None):
        parser.error("--client-id and --public-key go together")
    config = OktaSimConfig(
        api_token=args.api_token,
        client_id=args.client_id,
        public_key_pem=args.public_key.read_text() if args.public_key else None,
        users=args.users,
        groups=args.groups,
        memberships=args.memberships,
        seed=args.seed,
        token_ttl=args.token_ttl,
        base_url=args.base_url or f"http://{args.host}:{args.port}",
    )
    return config, args.host, args.port


def main(argv: Sequence[str] | None = None) -> None:
    config, host, port = parse_args(argv)
    # the org's own clock dates every answer (X-Rate-Limit-Reset is read against it)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", date_header=False)


if __name__ == "__main__":
    main()
