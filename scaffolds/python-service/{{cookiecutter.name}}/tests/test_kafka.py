"""The service against a real broker: SASL_SSL, SCRAM-SHA-512, the cluster's CA."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from streamforge_utils import Service, Settings, kafka_producer

from {{ cookiecutter.package }} import app

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio]


async def test_produces_and_consumes_its_topic(kafka_broker: Any) -> None:
    settings = Settings.from_env(
        {
            "SERVICE_NAME": app.SERVICE,
            "HTTP_PORT": "0",
            "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
            "KAFKA_USERNAME": kafka_broker.username,
            "KAFKA_PASSWORD": kafka_broker.password,
            "KAFKA_CA_FILE": str(kafka_broker.ca_file),
            "SECRETS_DIR": "/nonexistent",
        }
    )
    suffix = uuid.uuid4().hex[:8]
    config = app.Config(
        topic=f"{app.SERVICE}.events-{suffix}",
        group_id=f"{app.SERVICE}-{suffix}",
        heartbeat_seconds=0.2,
    )
    # another service's event, already on the topic when this one starts
    async with kafka_producer(settings) as producer:
        await producer.send_and_wait(config.topic, app.encode_event(41, 0.0, source="other"))

    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    service = Service(settings, CollectorRegistry())
    task = asyncio.create_task(app.run(service, config, on_event=received.put))
    try:
        first = await asyncio.wait_for(received.get(), timeout=60)
        assert (first["source"], first["sequence"]) == ("other", 41)
        own = await asyncio.wait_for(received.get(), timeout=60)
        assert (own["source"], own["sequence"]) == (app.SERVICE, 0)
        assert service.ready
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled() or task.exception() is None
