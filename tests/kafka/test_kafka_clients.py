"""streamforge_utils' Kafka factories against a real broker (SASL_SSL, SCRAM-SHA-512, test CA)."""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiokafka.errors import SaslAuthenticationFailed

from streamforge_utils import KafkaStartupError, Settings, kafka_consumer, kafka_producer

if TYPE_CHECKING:  # the fixture's type; importing conftest at run time is fragile
    from conftest import KafkaBroker

pytestmark = pytest.mark.asyncio


def settings_for(
    broker: KafkaBroker, *, password: str | None = None, ca_file: Path | None = None
) -> Settings:
    """Settings as a service in the cluster would read them, only pointed at the test broker."""
    return Settings.from_env(
        {
            "SERVICE_NAME": "kafka-test",
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "KAFKA_USERNAME": broker.username,
            "KAFKA_PASSWORD": password or broker.password,
            "KAFKA_CA_FILE": str(ca_file or broker.ca_file),
            "SECRETS_DIR": "/nonexistent",
        }
    )


async def test_produce_then_consume(kafka_broker: KafkaBroker) -> None:
    settings = settings_for(kafka_broker)
    topic = f"produce-consume-{uuid.uuid4().hex[:8]}"
    async with kafka_producer(settings) as producer:
        metadata = await producer.send_and_wait(
            topic, b"hello over SASL_SSL", key=b"k1", headers=[("trace", b"abc")]
        )
    assert metadata.topic == topic
    assert metadata.offset == 0

    async with kafka_consumer(settings, topic, group_id=f"g-{topic}") as consumer:
        batches = await consumer.getmany(timeout_ms=30_000, max_records=1)
        records = [record for batch in batches.values() for record in batch]
        assert records, "no message consumed within 30s"
        await consumer.commit()
        committed = await consumer.committed(next(iter(batches)))
    record = records[0]
    assert (record.key, record.value) == (b"k1", b"hello over SASL_SSL")
    assert list(record.headers) == [("trace", b"abc")]
    assert committed == 1


async def test_wrong_password_refused(kafka_broker: KafkaBroker) -> None:
    settings = settings_for(kafka_broker, password="not-the-password")
    with pytest.raises(KafkaStartupError) as raised:
        async with kafka_producer(settings):
            pytest.fail("a producer with a wrong password connected")
    message = str(raised.value)
    assert f"cannot connect to Kafka at {kafka_broker.bootstrap}" in message
    assert f"refused SCRAM-SHA-512 authentication for user '{kafka_broker.username}'" in message
    assert "invalid credentials" in message  # the broker's own words
    assert "check KAFKA_USERNAME and KAFKA_PASSWORD" in message
    assert isinstance(raised.value.__cause__, SaslAuthenticationFailed)


async def test_wrong_password_refused_for_consumer(kafka_broker: KafkaBroker) -> None:
    settings = settings_for(kafka_broker, password="not-the-password")
    with pytest.raises(KafkaStartupError, match="refused SCRAM-SHA-512 authentication"):
        async with kafka_consumer(settings, "any", group_id="g"):
            pytest.fail("a consumer with a wrong password connected")


async def test_untrusted_ca_refused(kafka_broker: KafkaBroker) -> None:
    settings = settings_for(kafka_broker, ca_file=kafka_broker.untrusted_ca_file)
    with pytest.raises(KafkaStartupError) as raised:
        async with kafka_producer(settings):
            pytest.fail("a producer trusting another CA connected")
    message = str(raised.value)
    assert "the broker's TLS certificate is not trusted" in message
    assert f"KAFKA_CA_FILE={kafka_broker.untrusted_ca_file}" in message
    assert isinstance(raised.value.__cause__, ssl.SSLCertVerificationError)
