"""Rough write-throughput benchmark of the Confluence simulator under uvicorn (one process).

Starts the simulator in a subprocess on a free port, seeds users over `/_sim/users`, then drives
simple REST writes (user creates, membership adds/removes, disable/enable) over keep-alive
connections with a minimal raw-socket HTTP/1.1 client so the client is not the bottleneck.
Run: `uv run python simulators/tests/confluence/bench_writes.py [--seconds 5] [--connections 16]`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

AUTH = "Basic " + base64.b64encode(b"admin:admin").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request_bytes(method: str, path: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: {AUTH}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def worker(port: int, wid: int, deadline: float, counts: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    while time.perf_counter() < deadline:
        kind = i % 4
        user = f"seed{wid}x{i % 50}"
        if kind == 0:
            body = json.dumps(
                {
                    "userName": f"new{wid}n{i}",
                    "fullName": "Bench User",
                    "email": f"new{wid}n{i}@example.com",
                    "password": "pw",
                }
            ).encode()
            data = request_bytes("POST", "/rest/api/admin/user", body)
        elif kind == 1:
            data = request_bytes("PUT", f"/rest/api/user/{user}/group/bench")
        elif kind == 2:
            data = request_bytes("DELETE", f"/rest/api/user/{user}/group/bench")
        else:
            data = request_bytes("PUT", f"/rest/api/admin/user/{user}/disable")
        writer.write(data)
        status = await read_response(reader)
        counts["ok" if status < 400 else "failed"] += 1
        i += 1
    writer.close()


def post(port: int, path: str, payload: object) -> None:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(req, timeout=10).read()


async def run(port: int, seconds: float, connections: int) -> dict[str, int]:
    counts = {"ok": 0, "failed": 0}
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(worker(port, w, deadline, counts) for w in range(connections)))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--version", default="8.4")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "roster.simulators.confluence",
            "--port",
            str(port),
            "--version",
            args.version,
            "--log-level",
            "error",
        ],
        env={**os.environ},
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/state", timeout=1).read()
                break
            time.sleep(0.1)
        seed = [
            {"username": f"seed{w}x{n}", "displayName": "Seed"}
            for w in range(args.connections)
            for n in range(50)
        ]
        post(port, "/_sim/users", {"users": seed, "groups": ["bench"]})
        started = time.perf_counter()
        counts = asyncio.run(run(port, args.seconds, args.connections))
        elapsed = time.perf_counter() - started
        total = counts["ok"] + counts["failed"]
        print(
            f"{total} writes in {elapsed:.2f}s = {total / elapsed:.0f} writes/s "
            f"({counts['failed']} non-2xx) over {args.connections} connections"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
