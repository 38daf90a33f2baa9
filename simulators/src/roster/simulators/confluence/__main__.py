"""Command line of the Confluence DC simulator: flags → `SimConfig` → uvicorn, one process.

Example: `python -m roster.simulators.confluence --port 8090 --version 8.2 --seats 500`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from roster.simulators.confluence.app import create_app
from roster.simulators.confluence.config import SUPPORTED_VERSIONS, SimConfig, parse_version
from roster.simulators.confluence.ratelimit import RateLimitSettings


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m roster.simulators.confluence")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument(
        "--version",
        default="8.4",
        help=f"Confluence version to imitate: {', '.join(SUPPORTED_VERSIONS)}",
    )
    parser.add_argument(
        "--users-file", type=Path, help="JSON seed: a list of users or {users, groups}"
    )
    parser.add_argument("--seats", type=int, help="licence seats (default: unlimited)")
    parser.add_argument("--admin-user", default="admin")
    parser.add_argument("--admin-password", default="admin")
    parser.add_argument("--token", help="personal access token accepted as Bearer for the admin")
    parser.add_argument(
        "--rpc-no-bearer", action="store_true", help="refuse the token on /rpc/* (Basic only)"
    )
    parser.add_argument(
        "--default-group", default="confluence-users", help="group new users join ('' for none)"
    )
    parser.add_argument(
        "--rate-limit-fill", type=float, help="tokens per interval; enables limiting"
    )
    parser.add_argument("--rate-limit-interval", type=float, default=1.0, help="seconds")
    parser.add_argument("--rate-limit-max", type=int, default=100, help="bucket capacity")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    try:
        parse_version(args.version)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def config_from(args: argparse.Namespace) -> SimConfig:
    limit = RateLimitSettings(
        enabled=args.rate_limit_fill is not None,
        fill_rate=args.rate_limit_fill or 10.0,
        interval_seconds=args.rate_limit_interval,
        max=args.rate_limit_max,
    )
    return SimConfig(
        version=args.version,
        admin_user=args.admin_user,
        admin_password=args.admin_password,
        token=args.token,
        rpc_accepts_bearer=not args.rpc_no_bearer,
        seats=args.seats,
        default_group=args.default_group or None,
        ratelimit=limit,
        users_file=args.users_file,
    )


class _QuietDrops(logging.Filter):
    """Hide uvicorn's complaint about the responses we drop on purpose (fault injection)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without starting response" not in record.getMessage()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    app = create_app(config_from(args))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()
