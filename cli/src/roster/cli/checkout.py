"""`roster up` / `roster down`: where the local stack's checkout is and how it is started.

Decides the repository root (the nearest folder, from the working directory up, holding
`scripts/localstack.py`) and runs `make up` / `make down` there, so the CLI drives the same
targets as a developer does. Outside a checkout it is a one-line error, exit 2.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from roster.cli.client import fail

MARKER = Path("scripts") / "localstack.py"


def repo_root(start: Path) -> Path | None:
    """The nearest folder from `start` upwards that holds `scripts/localstack.py`."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / MARKER).is_file() and (folder / "Makefile").is_file():
            return folder
    return None


def make(target: str, *, idp: str | None, start: Path | None = None) -> int:
    """Run `make <target>` in the checkout (IDP passed when given); returns make's exit code."""
    root = repo_root(start or Path.cwd())
    if root is None:
        raise fail(f"not inside a Roster checkout: no {MARKER} in {Path.cwd()} or its parents", 2)
    program = shutil.which("make")
    if program is None:
        raise fail("`make` is not installed: it runs the local stack", 2)
    variables = [f"IDP={idp}"] if idp is not None else []
    return subprocess.run([program, target, *variables], cwd=root, check=False).returncode
