"""Layering the root import-linter contracts do not cover yet: fetcher core stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "roster" / "fetcher"
IO_MODULES = {
    "asyncio",
    "socket",
    "time",
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
    "subprocess",
}


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
    roots = {name.split(".")[0] for name in imported(module)}
    assert not roots & IO_MODULES
    own = [n for n in imported(module) if n.startswith("roster.fetcher")]
    assert all(n.startswith("roster.fetcher.core") for n in own), "core imports only core"


@pytest.mark.parametrize("module", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_src_never_imports_simulators_or_other_services(module: Path) -> None:
    forbidden = (
        "roster.simulators",
        "roster.reconciler",
        "roster.writer",
        "roster.scheduler",
        "roster.cli",
    )
    assert not [n for n in imported(module) if n.startswith(forbidden)]


@pytest.mark.parametrize("module", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_are_small_and_open_with_a_docstring(module: Path) -> None:
    text = module.read_text()
    assert len(text.splitlines()) < 400
    doc = ast.get_docstring(ast.parse(text))
    assert doc, "every module says what it is for"
    assert len(doc.splitlines()) <= 6
