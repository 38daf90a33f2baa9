"""Wait until a Kafka broker is really usable, then exit 0 (or 1 on timeout).

Usage: uv run python scripts/wait_kafka.py [TIMEOUT_SECONDS] [--bootstrap HOST:PORT] [--pid PID]

"Usable" means, in one attempt:
  1. AIOKafkaAdminClient.describe_cluster() answers and lists at least one broker;
  2. a throw-away topic can be created, a record produced to it (acks=all), and read back
     by a consumer in a fresh consumer group (JoinGroup/SyncGroup), which then commits and
     reads back its committed offset (so the group coordinator is loaded, too).
The topic is deleted afterwards (best effort). Attempts repeat until the timeout.
--pid: give up at once when that process is gone (used by scripts/stack.sh while the broker
starts). The bootstrap address defaults to $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:39092.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

DEFAULT_BOOTSTRAP = "127.0.0.1:39092"
ATTEMPT_TIMEOUT_S = 20.0


class ProcessGone(Exception):
    pass


def _process_alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        text = stat.read_text()
    except OSError:
        return False
    # state is the field after "(comm)"; a zombie ("Z") has already exited
    state = text.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


async def _round_trip(bootstrap: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    topic = f"_roster-health-{uuid.uuid4().hex[:12]}"
    created = False
    try:
        cluster = await admin.describe_cluster()
        brokers = cluster.get("brokers") or []
        if not brokers:
            raise RuntimeError("describe_cluster returned no brokers")

        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        created = True

        payload = uuid.uuid4().bytes
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", request_timeout_ms=10_000
        )
        await producer.start()
        try:
            meta = await producer.send_and_wait(topic, payload)
        finally:
            await producer.stop()

        group = f"_roster-health-{uuid.uuid4().hex[:12]}"
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            request_timeout_ms=10_000,
        )
        await consumer.start()
        try:
            msg = await consumer.getone()
            if msg.value != payload:
                raise RuntimeError("consumed a record that is not the one produced")
            await consumer.commit()
            tp = TopicPartition(topic, 0)
            committed = await consumer.committed(tp)
            if committed != meta.offset + 1:
                raise RuntimeError(f"committed offset {committed}, expected {meta.offset + 1}")
        finally:
            await consumer.stop()
        return f"cluster_id={cluster.get('cluster_id')} brokers={len(brokers)}"
    finally:
        if created:
            try:
                await admin.delete_topics([topic])
            except Exception as exc:  # noqa: BLE001 - best effort: the broker is healthy anyway
                print(f"wait_kafka: could not delete {topic}: {exc!r}", file=sys.stderr)
        await admin.close()


async def wait(bootstrap: str, timeout_s: float, pid: int | None, verbose: bool) -> bool:
    deadline = time.monotonic() + timeout_s
    last_error: str | None = None
    attempt = 0
    while True:
        attempt += 1
        if pid is not None and not _process_alive(pid):
            print(f"wait_kafka: process {pid} is gone", file=sys.stderr)
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        started = time.monotonic()
        try:
            info = await asyncio.wait_for(
                _round_trip(bootstrap), timeout=min(ATTEMPT_TIMEOUT_S, max(remaining, 1.0))
            )
        except Exception as exc:  # noqa: BLE001 - any failure means "not healthy yet"
            last_error = f"{type(exc).__name__}: {exc}"
            if verbose:
                print(f"wait_kafka: attempt {attempt}: {last_error}", file=sys.stderr)
            await asyncio.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
            continue
        print(
            f"kafka healthy at {bootstrap}: {info}, round trip "
            f"{time.monotonic() - started:.2f}s (attempt {attempt})"
        )
        return True
    print(
        f"wait_kafka: {bootstrap} not healthy after {timeout_s:.0f}s; last error: {last_error}",
        file=sys.stderr,
    )
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("timeout", nargs="?", type=float, default=90.0, help="seconds (90)")
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_BOOTSTRAP,
    )
    parser.add_argument("--pid", type=int, default=None, help="abort when this pid is gone")
    parser.add_argument("-v", "--verbose", action="store_true", help="print failed attempts")
    args = parser.parse_args(argv)
    # aiokafka logs every refused connection at ERROR while the broker is still starting.
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL)
    ok = asyncio.run(wait(args.bootstrap, args.timeout, args.pid, args.verbose))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
