"""Layering the root import-linter contracts do not cover: the writer's core stays pure, the
service never imports simulators or other services, modules stay small and say what they are."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "roster" / "writer"
IO_MODULES = {
    "asyncio", "socket", "time", "logging", "structlog", "httpx", "aiokafka", "faststream",
    "redis", "fastapi", "starlette", "uvicorn", "prometheus_client", "os", "subprocess", "random",
}  # fmt: skip


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def relative(path: Path) -> str:
    return str(path.relative_to(SRC))


@pytest.mark.parametrize("module", sorted((SRC / "core").glob("*.py")), ids=relative)
def test_core_imports_no_io_library(module: Path) -> None:
    names = imported(module)
    assert not {n.split(".")[0] for n in names} & IO_MODULES
    own = [n for n in names if n.startswith("roster.") and not n.startswith("roster.shared")]
    assert all(n.startswith("roster.writer.core") for n in own), "core imports only core"
    shared = [n for n in names if n.startswith("roster.shared")]
    assert all(n.startswith(("roster.shared.messages", "roster.shared.ids")) for n in shared)


@pytest.mark.parametrize("module", sorted(SRC.rglob("*.py")), ids=relative)
def test_never_imports_simulators_or_other_services(module: Path) -> None:
    forbidden = ("roster.simulators", "roster.reconciler", "roster.fetcher", "roster.scheduler",
                 "roster.cli")  # fmt: skip
    assert not [n for n in imported(module) if n.startswith(forbidden)]


@pytest.mark.parametrize("module", sorted(SRC.rglob("*.py")), ids=relative)
def test_modules_are_small_and_open_with_a_docstring(module: Path) -> None:
    text = module.read_text()
    assert len(text.splitlines()) < 400
    doc = ast.get_docstring(ast.parse(text))
    assert doc, "every module says what it is for"
    assert 1 <= len(doc.splitlines()) <= 6


def test_only_the_http_adapter_reads_status_codes() -> None:
    """Status → error happens in `adapters/http.classify` alone (RPC faults map to a status)."""
    for module in SRC.rglob("*.py"):
        if module.name != "http.py":
            assert ".status_code" not in module.read_text(), relative(module)
