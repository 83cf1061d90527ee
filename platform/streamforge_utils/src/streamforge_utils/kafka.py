"""asyncio Kafka clients (aiokafka) configured from Settings.

With the default SASL_SSL protocol the client authenticates with SCRAM-SHA-512 (the KafkaUser's
name and password) and trusts only the cluster CA (`ca.crt` of `<cluster>-cluster-ca-cert`),
with the broker's host name checked, exactly what a Strimzi TLS listener with
`authentication: scram-sha-512` expects.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    AuthenticationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
)

from .settings import Settings

SASL_MECHANISM = "SCRAM-SHA-512"


class KafkaStartupError(RuntimeError):
    """A Kafka client could not connect; the message says why and what to check."""


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """A TLS context that trusts only the cluster CA and checks the broker's host name."""
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(settings.kafka_ca_file)
    )
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments shared by aiokafka producers, consumers and admin clients."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": settings.service_name,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol == "SASL_SSL":
        options.update(
            sasl_mechanism=SASL_MECHANISM,
            sasl_plain_username=settings.kafka_username,
            sasl_plain_password=settings.kafka_password,
            ssl_context=ssl_context(settings),
        )
    return options


@asynccontextmanager
async def kafka_producer(settings: Settings, **overrides: Any) -> AsyncIterator[AIOKafkaProducer]:
    """A started AIOKafkaProducer; flushed and stopped when the block exits.

    `overrides` go straight to AIOKafkaProducer (e.g. `acks="all"`, `linger_ms=5`).
    """
    producer = AIOKafkaProducer(**{"acks": "all", **client_options(settings), **overrides})
    await _start(producer, settings)
    try:
        yield producer
    finally:
        await producer.stop()


@asynccontextmanager
async def kafka_consumer(
    settings: Settings, *topics: str, group_id: str | None, **overrides: Any
) -> AsyncIterator[AIOKafkaConsumer]:
    """A started AIOKafkaConsumer subscribed to `topics`; offsets committed and stopped on exit.

    A new consumer group starts at the earliest offset unless `auto_offset_reset` says otherwise.
    Pass `group_id=None` explicitly for a consumer without a group (no commits).
    """
    options = {"auto_offset_reset": "earliest", **client_options(settings), **overrides}
    consumer = AIOKafkaConsumer(*topics, group_id=group_id, **options)
    await _start(consumer, settings)
    try:
        yield consumer
    finally:
        await consumer.stop()


class _BootstrapErrors(logging.Handler):
    """Collect the per-broker errors aiokafka only logs while it bootstraps."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        self.errors.extend(arg for arg in args if isinstance(arg, BaseException))


async def _start(client: AIOKafkaProducer | AIOKafkaConsumer, settings: Settings) -> None:
    collector = _BootstrapErrors()
    logger = logging.getLogger("aiokafka")  # aiokafka/client.py logs there
    logger.addHandler(collector)
    try:
        await client.start()
    except KafkaConnectionError as err:
        await client.stop()
        cause = collector.errors[-1] if collector.errors else err
        raise KafkaStartupError(_explain(cause, settings)) from cause
    except BaseException:
        await client.stop()
        raise
    finally:
        logger.removeHandler(collector)


def _explain(cause: BaseException, settings: Settings) -> str:
    where = f"cannot connect to Kafka at {settings.kafka_bootstrap_servers}"
    if isinstance(cause, (SaslAuthenticationFailed, AuthenticationFailedError)):
        return (
            f"{where}: the broker refused {SASL_MECHANISM} authentication for user "
            f"{settings.kafka_username!r} ({cause}); check KAFKA_USERNAME and KAFKA_PASSWORD "
            "against the KafkaUser's secret"
        )
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (
            f"{where}: the broker's TLS certificate is not trusted ({cause.verify_message}); "
            f"check that KAFKA_CA_FILE={settings.kafka_ca_file} is the ca.crt of the secret "
            "<cluster>-cluster-ca-cert and that the bootstrap host name is in the certificate"
        )
    if isinstance(cause, ssl.SSLError):
        return f"{where}: TLS failed ({cause}); is that a TLS listener (port 9093 on Strimzi)?"
    return f"{where}: {cause}; check KAFKA_BOOTSTRAP_SERVERS and that the broker is up"
