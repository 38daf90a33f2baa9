"""Benchmark (not a test): a full Keycloak snapshot of N users, simulator under uvicorn.

    uv run python services/fetcher/tests/bench_fetcher_snapshot.py --users 10000 [--kafka]

Prints connector-only time, and with --kafka the time to publish the whole snapshot to the
real broker (KAFKA_BOOTSTRAP_SERVERS) through SnapshotRunner + KafkaRuntime.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid

import httpx
from prometheus_client import CollectorRegistry

from roster.fetcher.connectors.base import ConnectorHooks
from roster.fetcher.connectors.keycloak import KeycloakConnector
from roster.fetcher.metrics import FetcherMetrics
from roster.fetcher.snapshots import SnapshotRunner
from roster.shared.config import DirectorySettings, KafkaSettings
from roster.shared.kafka import KafkaRuntime
from roster.shared.messages.sync import SyncRequested

SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_up(base: str) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(600):
            try:
                if (await c.get(f"{base}/_sim/token-ttl")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("simulator did not start")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--memberships", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--kafka", action="store_true")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "roster.simulators.keycloak",
            "--port",
            str(port),
            "--client-secret",
            SECRET,
            "--users",
            str(args.users),
            "--groups",
            str(args.groups),
            "--memberships",
            str(args.memberships),
        ]
    )
    os.environ["BENCH_KC_SECRET"] = SECRET
    directory = DirectorySettings.model_validate(
        {
            "id": "bench",
            "kind": "keycloak",
            "keycloak": {
                "base_url": base,
                "realm": "roster",
                "client_id": "roster-sync",
                "client_secret": {"env": "BENCH_KC_SECRET"},
                "page_size": args.page_size,
            },
        }
    )
    try:
        await wait_up(base)
        async with httpx.AsyncClient(timeout=30) as http:
            connector = KeycloakConnector(directory, http, ConnectorHooks())
            async for _ in connector.snapshot():  # warm the simulator's render cache
                pass
            began = time.perf_counter()
            users = items = 0
            async for item in connector.snapshot():
                items += 1
                users += hasattr(item, "subject")
            seconds = time.perf_counter() - began
            print(
                f"connector only: {users} users, {items} items in {seconds:.2f}s "
                f"({users / seconds:,.0f} users/s), page size {args.page_size}"
            )
            if args.kafka:
                settings = KafkaSettings(
                    bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092"),
                    topic_prefix=f"bench{uuid.uuid4().hex[:6]}.",
                    partitions=1,
                )
                registry = CollectorRegistry()
                runtime = KafkaRuntime(settings, service="fetcher", registry=registry)
                await runtime.start()
                try:
                    runner = SnapshotRunner(runtime, FetcherMetrics(registry), member_chunk=1000)
                    request = SyncRequested(run_id="bench", directory="bench")
                    began = time.perf_counter()
                    outcome = await runner.run(request, connector)
                    seconds = time.perf_counter() - began
                finally:
                    await runtime.stop()
                t = outcome.tally
                print(
                    f"to Kafka: {t.users} users, {t.groups} groups, {t.memberships} memberships, "
                    f"{t.chunks} chunks in {seconds:.2f}s ({t.users / seconds:,.0f} users/s), "
                    f"error={outcome.error}"
                )
    finally:
        sim.terminate()
        sim.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
