"""The service's work: every few seconds it produces an event to its own topic, and it consumes
that topic, counting what it reads.

Replace `handle` and `heartbeats` with the real work; keep the shape: the Kafka clients are
opened with `async with` (so SIGTERM flushes and commits), the service says it is ready only
once they are connected, and while Kafka cannot be reached it stays alive (`/healthz` 200) but
not ready (`/readyz` 503 with the reason), retrying. In an env without Kafka (the chart sets
KAFKA_ENABLED=false) it is ready at once and serves only health and metrics.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import Counter
from streamforge_utils import KafkaStartupError, Service, kafka_consumer, kafka_producer

SERVICE = "{{ cookiecutter.name }}"
METRICS = "{{ cookiecutter.package }}"
log = logging.getLogger(SERVICE)

EVENTS_SENT = Counter(f"{METRICS}_events_sent_total", "Events produced")
EVENTS_RECEIVED = Counter(f"{METRICS}_events_received_total", "Events consumed")
EVENTS_MALFORMED = Counter(f"{METRICS}_events_malformed_total", "Records that were no event")

Handler = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Config:
    """The service's own settings (the platform's are in `service.settings`)."""

    topic: str = f"{SERVICE}.events"
    group_id: str = SERVICE
    heartbeat_seconds: float = 5.0
    retry_seconds: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            topic=env.get("EVENTS_TOPIC", cls.topic),
            group_id=env.get("CONSUMER_GROUP", cls.group_id),
            heartbeat_seconds=float(env.get("HEARTBEAT_SECONDS", cls.heartbeat_seconds)),
            retry_seconds=float(env.get("KAFKA_RETRY_SECONDS", cls.retry_seconds)),
        )


def encode_event(sequence: int, sent_at: float, source: str = SERVICE) -> bytes:
    return json.dumps({"source": source, "sequence": sequence, "sent_at": sent_at}).encode()


def decode_event(value: bytes | None) -> dict[str, Any]:
    """The event in a record's value; ValueError if it is not one."""
    try:
        event = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(event, dict) or not isinstance(event.get("sequence"), int):
        raise ValueError("not an event: no integer 'sequence'")
    return event


async def handle(event: dict[str, Any]) -> None:
    """What the service does with each event it consumes."""
    log.debug("event", extra={"event": event})


async def heartbeats(producer: AIOKafkaProducer, config: Config) -> None:
    sequence = 0
    while True:
        await producer.send_and_wait(
            config.topic, encode_event(sequence, time.time()), key=SERVICE.encode()
        )
        EVENTS_SENT.inc()
        sequence += 1
        await asyncio.sleep(config.heartbeat_seconds)


async def consume(consumer: AIOKafkaConsumer, on_event: Handler) -> None:
    async for record in consumer:
        try:
            event = decode_event(record.value)
        except ValueError as error:
            EVENTS_MALFORMED.inc()
            log.warning("skipped offset %s of %s: %s", record.offset, record.topic, error)
            continue
        EVENTS_RECEIVED.inc()
        await on_event(event)


async def run(service: Service, config: Config, on_event: Handler = handle) -> None:
    """Produce and consume until cancelled (SIGTERM); wait for Kafka while it is unreachable.
    Where the env gives the service no Kafka (KAFKA_ENABLED=false), serve only health and
    metrics, ready, until cancelled."""
    settings = service.settings
    if not settings.kafka_enabled:
        service.set_ready()
        log.info("ready without Kafka: this env gives the service none (KAFKA_ENABLED=false)")
        await asyncio.Event().wait()
    while True:
        try:
            async with (
                kafka_producer(settings) as producer,
                kafka_consumer(settings, config.topic, group_id=config.group_id) as consumer,
            ):
                service.set_ready()
                log.info("ready", extra={"topic": config.topic})
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(heartbeats(producer, config))
                    tasks.create_task(consume(consumer, on_event))
            return
        except KafkaStartupError as error:
            service.set_ready(False, f"waiting for Kafka: {error}")
            log.warning("Kafka is not reachable, retrying in %ss: %s", config.retry_seconds, error)
            await asyncio.sleep(config.retry_seconds)


async def main(service: Service) -> None:
    await run(service, Config.from_env())
