"""Kafka plumbing every service uses: topics, publishing, consuming with a safety net.

One FastStream `KafkaBroker` per service (idempotent producer). Consumers are batch
subscribers with manual acks: a batch is decoded, handed to the service, each record run
under the retry / dead-letter policy of `delivery`, and only then committed. Readiness
means the consumer joined its group (a rebalance assigned partitions), not "broker up".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry, Counter

from roster.shared import topics as topic_names
from roster.shared.config import KafkaSettings
from roster.shared.delivery import Retrier
from roster.shared.errors import MessageDecodeError
from roster.shared.messages.base import Message
from roster.shared.messages.codec import decode, encode, headers
from roster.shared.messages.deadletter import DeadLettered
from roster.shared.topics import Topics

log = structlog.get_logger()


@dataclass(frozen=True)
class Delivery:
    """One consumed record: the decoded message (or the decode error) and where it came from."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    message: Any
    error: MessageDecodeError | None = None


BatchHandler = Callable[[Sequence[Delivery]], Awaitable[None]]
RecordHandler = Callable[[Any], Awaitable[None]]


class _AssignmentListener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, readiness: Readiness, name: str) -> None:
        self._readiness = readiness
        self._name = name

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._readiness.joined[self._name] = time.monotonic()


@dataclass
class Readiness:
    """Which consumers have joined their group; the service is ready when all have."""

    expected: set[str] = field(default_factory=set)
    joined: dict[str, float] = field(default_factory=dict)

    def ready(self) -> bool:
        return self.expected <= set(self.joined)

    def missing(self) -> list[str]:
        return sorted(self.expected - set(self.joined))


class KafkaRuntime:
    """The broker of one service, with typed publish and safe batch consume."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        service: str,
        registry: CollectorRegistry,
        retrier: Retrier | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.topics = Topics(settings.topic_prefix)
        self.broker = KafkaBroker(
            settings.bootstrap_servers,
            enable_idempotence=True,
            linger_ms=5,
            client_id=f"roster-{service}",
            logger=None,
        )
        self.readiness = Readiness()
        self.retrier = retrier or Retrier()
        self._consumed = Counter(
            f"roster_{service.replace('-', '_')}_records_total",
            "Kafka records handled, by topic family and outcome.",
            ["topic", "outcome"],
            registry=registry,
        )

    def group_id(self, name: str) -> str:
        return f"{self.settings.group_prefix}-{name}"

    async def ensure_topics(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(
                    name=t,
                    num_partitions=self.settings.partitions,
                    replication_factor=self.settings.replication_factor,
                )
                for t in self.topics.all()
                if t not in existing
            ]
            if wanted:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(wanted)
        finally:
            await admin.close()

    async def start(self) -> None:
        await self.ensure_topics()
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    async def publish(self, family: str, message: Message, *, key: str) -> None:
        await self.broker.publish(
            encode(message),
            self.topics.name(family),
            key=key.encode(),
            headers=headers(message, source=self.service),
        )

    async def publish_many(self, family: str, items: Sequence[tuple[str, Message]]) -> None:
        """Publish in order (per key order is kept) and wait until all are acknowledged."""
        topic = self.topics.name(family)
        futures = []
        for key, message in items:
            futures.append(
                await self.broker.publish(
                    encode(message),
                    topic,
                    key=key.encode(),
                    headers=headers(message, source=self.service),
                    no_confirm=True,
                )
            )
        if futures:
            await asyncio.gather(*futures)

    def subscribe(
        self,
        family: str,
        *,
        group: str,
        handler: BatchHandler,
        max_records: int = 500,
    ) -> None:
        """Consume `family` in batches; `handler` must settle every delivery (see `run_each`)."""
        name = f"{group}:{family}"
        self.readiness.expected.add(name)
        subscriber = self.broker.subscriber(
            self.topics.name(family),
            group_id=self.group_id(group),
            batch=True,
            max_records=max_records,
            batch_timeout_ms=50,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            max_poll_interval_ms=900_000,
            listener=_AssignmentListener(self.readiness, name),
        )

        async def on_batch(body: Any, msg: KafkaMessage) -> None:
            records = msg.raw_message
            if not isinstance(records, tuple):
                records = (records,)
            deliveries = [self._delivery(family, r) for r in records]
            await handler(deliveries)
            await msg.ack()

        subscriber(on_batch)

    def _delivery(self, family: str, record: Any) -> Delivery:
        key = record.key.decode() if isinstance(record.key, bytes) else record.key
        base = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": key,
            "value": record.value,
        }
        try:
            return Delivery(message=decode(family, record.value), **base)
        except MessageDecodeError as exc:
            return Delivery(message=None, error=exc, **base)

    async def run_each(
        self, deliveries: Sequence[Delivery], handle: RecordHandler, *, group: str
    ) -> None:
        """Run `handle` on each delivery in order under the retry / dead-letter policy."""
        for delivery in deliveries:
            await self.run_one(delivery, handle, group=group)

    async def run_one(self, delivery: Delivery, handle: RecordHandler, *, group: str) -> None:
        family = delivery.topic.removeprefix(self.settings.topic_prefix)
        if delivery.error is not None:
            await self.dead_letter(delivery, delivery.error, group=group, attempts=0)
            self._consumed.labels(family, "dead_letter").inc()
            return
        outcome = await self.retrier.run(lambda: handle(delivery.message))
        if outcome.ok:
            self._consumed.labels(family, "ok").inc()
            return
        assert outcome.error is not None
        log.error(
            "record dead-lettered",
            topic=delivery.topic,
            offset=delivery.offset,
            error=str(outcome.error),
            attempts=outcome.attempts,
        )
        await self.dead_letter(delivery, outcome.error, group=group, attempts=outcome.attempts)
        self._consumed.labels(family, "dead_letter").inc()

    async def dead_letter(
        self, delivery: Delivery, error: BaseException, *, group: str, attempts: int
    ) -> None:
        value = (delivery.value or b"").decode("utf-8", errors="replace")
        run_id = getattr(delivery.message, "run_id", None) or "unknown"
        letter = DeadLettered(
            run_id=run_id,
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            key=delivery.key,
            value=value,
            error=f"{type(error).__name__}: {error}",
            consumer=self.group_id(group),
            attempts=attempts,
        )
        await self.publish(topic_names.DEAD_LETTER, letter, key=delivery.key or "")
