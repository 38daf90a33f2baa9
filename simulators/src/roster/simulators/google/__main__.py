"""Command line: `python -m roster.simulators.google --port 8094 --key-file sa.json`.

Parses flags into a `GoogleSimConfig`, writes the service account's key file (when asked)
and serves the app with uvicorn; nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from roster.simulators.google.app import create_app
from roster.simulators.google.config import GoogleSimConfig


def parse_args(argv: Sequence[str] | None = None) -> tuple[GoogleSimConfig, str, int, Path | None]:
    parser = argparse.ArgumentParser(
        prog="python -m roster.simulators.google",
        description="Google Workspace Admin SDK simulator",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8094)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--memberships", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin", default="admin@example.com", help="admin to impersonate")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime, s")
    parser.add_argument("--quota", type=int, default=2400, help="queries per minute per user")
    parser.add_argument(
        "--key-file", type=Path, default=None, help="write the service account's key file here"
    )
    parser.add_argument("--base-url", default=None, help="public URL (default http://HOST:PORT)")
    parser.add_argument("--require-https-push", action="store_true")
    args = parser.parse_args(argv)
    config = GoogleSimConfig(
        users=args.users,
        groups=args.groups,
        memberships=args.memberships,
        seed=args.seed,
        admin_email=args.admin,
        token_ttl=args.token_ttl,
        quota_per_minute=args.quota,
        base_url=args.base_url or f"http://{args.host}:{args.port}",
        require_https_push=args.require_https_push,
    )
    return config, args.host, args.port, args.key_file


def main(argv: Sequence[str] | None = None) -> None:
    config, host, port, key_file = parse_args(argv)
    app = create_app(config)
    if key_file is not None:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(app.state.key_file(), handle, indent=2)
    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
