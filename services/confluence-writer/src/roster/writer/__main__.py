"""`python -m roster.writer --config FILE`: load the configuration and run the writer."""

from __future__ import annotations

import argparse
import asyncio

from roster.shared.config import load_config
from roster.writer.app import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m roster.writer")
    parser.add_argument("--config", required=True, help="Roster YAML configuration file")
    args = parser.parse_args()
    asyncio.run(run(load_config(args.config)))


if __name__ == "__main__":
    main()
