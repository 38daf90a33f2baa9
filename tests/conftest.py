"""Cross-service tests run on the real Kafka and Redis that `scripts/stack.sh` started.

Without them these tests fail — they never skip: CI must not pass on a missing broker.
"""

from __future__ import annotations

import os
import socket

import pytest


def _reachable(host_port: str) -> bool:
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    redis_url = os.environ.get("REDIS_URL")
    if not kafka or not redis_url:
        pytest.fail("KAFKA_BOOTSTRAP_SERVERS and REDIS_URL must be set: run `make test`")
    if not _reachable(kafka):
        pytest.fail(f"no Kafka at {kafka}: run `scripts/stack.sh start`")
    redis_host = redis_url.split("//", 1)[1].split("/", 1)[0]
    if not _reachable(redis_host):
        pytest.fail(f"no Redis at {redis_url}: run `scripts/stack.sh start`")
    return {"KAFKA_BOOTSTRAP_SERVERS": kafka, "REDIS_URL": redis_url}
