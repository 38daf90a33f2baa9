"""`python -m roster.scheduler --config FILE`: load the configuration and run the scheduler."""

from __future__ import annotations

import argparse
import asyncio

from roster.scheduler.app import run
from roster.shared.config import load_config


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m roster.scheduler")
    parser.add_argument("--config", required=True, help="Roster YAML configuration file")
    args = parser.parse_args()
    asyncio.run(run(load_config(args.config)))


if __name__ == "__main__":
    main()
