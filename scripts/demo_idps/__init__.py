"""IdP simulators the local stack and `make demo IDP=<name>` can run, one module per IdP.

Each module `demo_idps/<name>.py` defines `PLUGIN = IdpPlugin(...)`. The stack starts the
plugin's simulator on `Stack.idp_port`, puts its directory (id `Stack.directory_id`) in the
configuration, and the demo compares Confluence with `expected(stack)`, the IdP's directory
normalised to Confluence terms.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localstack import Stack

Expected = dict[str, Any]
"""{"users": {username: {"display_name", "email"}}, "groups": {name: set[username]},
"idp_users", "idp_groups", "idp_memberships": counts of the IdP directory itself}."""


@dataclass(frozen=True)
class IdpPlugin:
    name: str
    command: Callable[[Stack], list[str]]
    """argv of the simulator process (Python: `[sys.executable, "-m", ...]`)."""
    directory: Callable[[Stack], dict[str, Any]]
    """The `directories[]` entry for the stack's configuration (id `stack.directory_id`)."""
    ready_path: str
    """GET path on the simulator that answers < 300 once it serves."""
    expected: Callable[[Stack], Expected]
    """What Confluence must hold after a full sync (default groups included)."""
    secrets: dict[str, str] = field(default_factory=dict)
    """Environment variables the services need (the secrets the directory references)."""
    urls: Callable[[Stack], dict[str, str]] = lambda stack: {}
    """Extra lines `make up` prints (label → URL)."""


def plugin(name: str) -> IdpPlugin:
    try:
        module = importlib.import_module(f"demo_idps.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"demo_idps.{name}":
            raise
        raise SystemExit(f"IDP={name}: no simulator plugin scripts/demo_idps/{name}.py") from exc
    found: IdpPlugin = module.PLUGIN
    return found
