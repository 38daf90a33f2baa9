"""Layering the root import-linter contracts do not cover: reconciler core stays pure, small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "roster" / "reconciler"
IO_MODULES = {
    "asyncio",
    "socket",
    "time",
    "datetime",
    "logging",
    "structlog",
    "httpx",
    "aiokafka",
    "faststream",
    "redis",
    "fastapi",
    "starlette",
    "uvicorn",
    "prometheus_client",
    "os",
    "random",
    "subprocess",
    "uuid",
}
# shared modules that do I/O or read the clock themselves
IO_SHARED = ("roster.shared.kafka", "roster.shared.service", "roster.shared.redisdb")
MODULES = sorted(SRC.rglob("*.py"))


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted((SRC / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_io_library(module: Path) -> None:
    names = imported(module)
    roots = {name.split(".")[0] for name in names}
    assert not roots & (IO_MODULES - {"datetime"}), "core does no I/O"
    # rule modules compare datetime values handed to them (grace, cleanup); none reads a clock
    dated = ("plan.py", "commands.py", "rules.py", "users.py", "cleanup.py", "planned.py")
    assert "datetime" not in names or module.name in dated, "no clock"
    assert not [n for n in names if n.startswith(IO_SHARED)]
    own = [n for n in names if n.startswith("roster.reconciler")]
    assert all(n.startswith("roster.reconciler.core") for n in own), "core imports only core"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_src_never_imports_simulators_or_other_services(module: Path) -> None:
    forbidden = ("roster.simulators", "roster.fetcher", "roster.writer", "roster.scheduler")
    assert not [n for n in imported(module) if n.startswith((*forbidden, "roster.cli"))]


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_modules_are_small_and_open_with_a_docstring(module: Path) -> None:
    text = module.read_text()
    tree = ast.parse(text)
    assert len(text.splitlines()) < 400
    doc = ast.get_docstring(tree)
    assert doc, "every module says what it is for"
    assert len(doc.splitlines()) <= 6
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= 40, f"{node.name} has {length} lines"
