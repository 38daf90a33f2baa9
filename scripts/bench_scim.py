"""`make bench-scim`: sustained SCIM requests/s of the fetcher on the local Kafka and Redis.

Starts the real fetcher (`python -m roster.fetcher`, its own process, a `scim` directory,
unique topic and key prefixes) and drives its SCIM endpoint over HTTP with a mixed load as
Entra and Okta send it: creates (POST /Users), updates (PATCH replace of displayName and
`active` as the string "False"/"True"), and matches (GET /Users?filter=userName eq "…"),
from CONCURRENCY clients for SECONDS after a warm-up. Accepted changes flow into delta runs
on Kafka meanwhile, as in production. Prints one JSON line: `requests_per_second` (wall
clock, what a client sees on this machine now), and `requests_per_fetcher_cpu_second`
(requests per second of CPU the fetcher process used: the pace of one fetcher core, which a
busy shared machine does not distort), with the load average at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as redis
import yaml

TOKEN_ENV = "ROSTER_BENCH_SCIM_TOKEN"
TOKEN = "bench-scim-token-" + uuid.uuid4().hex[:8]
MIX = (("create", 0.35), ("patch", 0.40), ("filter", 0.25))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def config(port: int, prefix: str) -> dict[str, Any]:
    return {
        "kafka": {
            "bootstrap_servers": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092"),
            "topic_prefix": prefix,
            "partitions": 1,
        },
        "redis": {
            "url": os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0"),
            "key_prefix": prefix.replace(".", ":"),
        },
        "directories": [{"id": "bench", "kind": "scim", "scim": {"tokens": [{"env": TOKEN_ENV}]}}],
        "fetcher": {"http": {"port": port}},
        "log_level": "WARNING",
    }


async def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"the fetcher exited with {process.returncode}")
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the fetcher did not become ready")


class Load:
    def __init__(self, http: httpx.AsyncClient, rng: random.Random) -> None:
        self.http = http
        self.rng = rng
        self.users: list[tuple[str, str]] = []
        self.counts = {name: 0 for name, _ in MIX}
        self.errors: dict[str, int] = {}
        self.latencies: list[float] = []
        self.measuring = False

    def pick(self) -> str:
        if not self.users:
            return "create"
        roll = self.rng.random()
        for name, share in MIX:
            if roll < share:
                return name
            roll -= share
        return MIX[-1][0]

    async def one(self) -> None:
        kind = self.pick()
        began = time.perf_counter()
        if kind == "create":
            name = f"bench-{uuid.uuid4().hex[:12]}@example.com"
            body = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name,
                "externalId": uuid.uuid4().hex,
                "active": True,
                "name": {"givenName": "Bench", "familyName": name[6:12]},
                "emails": [{"primary": True, "type": "work", "value": name}],
            }
            response = await self.http.post("/Users", content=json.dumps(body))
            if response.status_code == 201:
                self.users.append((response.json()["id"], name))
        elif kind == "patch":
            user_id, _ = self.rng.choice(self.users)
            ops = [
                {"op": "Replace", "path": "displayName", "value": f"B {self.rng.random():.6f}"},
                {"op": "Replace", "path": "active", "value": self.rng.choice(["True", "False"])},
            ]
            body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}
            response = await self.http.patch(f"/Users/{user_id}", content=json.dumps(body))
        else:
            _, name = self.rng.choice(self.users)
            response = await self.http.get("/Users", params={"filter": f'userName eq "{name}"'})
        if not self.measuring:
            return
        if response.status_code >= 300:
            key = f"{kind}:{response.status_code}"
            self.errors[key] = self.errors.get(key, 0) + 1
            return
        self.counts[kind] += 1
        self.latencies.append(time.perf_counter() - began)

    async def worker(self, stop: float) -> None:
        while time.monotonic() < stop:
            await self.one()


async def measure(
    base: str, seconds: float, warmup: float, concurrency: int, pid: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"{base}/scim/v2", headers=headers, limits=limits, timeout=30
    ) as http:
        load = Load(http, random.Random(7))
        warm_stop = time.monotonic() + warmup
        await asyncio.gather(*(load.worker(warm_stop) for _ in range(concurrency)))
        load.measuring = True
        cpu_before = cpu_seconds(pid)
        client_before = time.process_time()
        began = time.monotonic()
        await asyncio.gather(*(load.worker(began + seconds) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
        cpu = cpu_seconds(pid) - cpu_before
        client_cpu = time.process_time() - client_before
    done = sum(load.counts.values())
    lat = sorted(load.latencies) or [0.0]
    return {
        "requests": done,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(done / elapsed, 1),
        "mix": load.counts,
        "errors": load.errors,
        "concurrency": concurrency,
        "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
        "p95_ms": round(lat[int(len(lat) * 0.95)] * 1000, 1),
        "users_stored": len(load.users),
        "fetcher_cpu_seconds": round(cpu, 2),
        "requests_per_fetcher_cpu_second": round(done / cpu, 1) if cpu > 0 else None,
        "client_cpu_seconds": round(client_cpu, 2),
        "load_average": round(os.getloadavg()[0], 2),
    }


async def drop_keys(prefix: str) -> None:
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0"))
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])
    finally:
        await client.aclose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    prefix = f"bench-scim-{uuid.uuid4().hex[:6]}."
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.yaml"
        path.write_text(yaml.safe_dump(config(port, prefix)))
        env = {**os.environ, TOKEN_ENV: TOKEN}
        command = [sys.executable, "-m", "roster.fetcher", "--config", str(path)]
        with (Path(tmp) / "fetcher.log").open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
            try:
                result = asyncio.run(load_fetcher(f"http://127.0.0.1:{port}", process, args))
            finally:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                asyncio.run(drop_keys(prefix.replace(".", ":")))
    return {"benchmark": "scim", **result}


async def load_fetcher(
    base: str, process: subprocess.Popen[bytes], args: argparse.Namespace
) -> dict[str, Any]:
    await wait_ready(base, process)
    return await measure(base, args.seconds, args.warmup, args.concurrency, process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
