"""The end-to-end tests' local stack: the real services and simulators as processes, on free
ports, with topic and key prefixes of their own (Kafka and Redis come from `stack_env`)."""

from __future__ import annotations

import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from localstack import Stack, down, up  # noqa: E402

SERVICES = ["scheduler", "fetcher", "reconciler", "confluence-writer"]


def free_ports(n: int) -> list[int]:
    """`n` distinct ports free right now (all bound at once, so none repeats)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@contextmanager
def running_stack(state: Path, *, users: int, groups: int, memberships: int) -> Iterator[Stack]:
    ports = free_ports(2 + len(SERVICES))
    tag = uuid.uuid4().hex[:8]
    stack = Stack(
        state=state,
        confluence_port=ports[0],
        keycloak_port=ports[1],
        service_ports=dict(zip(SERVICES, ports[2:], strict=True)),
        users=users,
        groups=groups,
        memberships=memberships,
        topic_prefix=f"e2e-{tag}.",
        key_prefix=f"e2e-{tag}:",
    )
    try:
        up(stack)
        yield stack
    finally:
        down(stack)
