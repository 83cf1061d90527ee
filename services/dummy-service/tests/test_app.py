"""The service without a broker: events, settings, and what it does while Kafka is down."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import pytest
from streamforge_utils import Service, Settings

from dummy_service import app


def test_event_round_trip() -> None:
    event = app.decode_event(app.encode_event(7, 1700000000.5))
    assert event == {"source": app.SERVICE, "sequence": 7, "sent_at": 1700000000.5}


@pytest.mark.parametrize("value", [b"", b"not json", b'{"sequence": "7"}', b"[1, 2]", None])
def test_malformed_records_are_not_events(value: bytes | None) -> None:
    with pytest.raises(ValueError):
        app.decode_event(value)


def test_config_defaults_and_overrides() -> None:
    assert app.Config.from_env({}) == app.Config(topic=f"{app.SERVICE}.events")
    config = app.Config.from_env({"EVENTS_TOPIC": "other", "HEARTBEAT_SECONDS": "0.5"})
    assert (config.topic, config.heartbeat_seconds) == ("other", 0.5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@contextlib.asynccontextmanager
async def running(
    env: dict[str, str], config: app.Config
) -> AsyncIterator[tuple[int, asyncio.Task[None]]]:
    """The service's `run` with settings from `env` (HTTP on a free loopback port); yields that
    port and the task, and stops both afterwards."""
    settings = Settings.from_env(
        {"SERVICE_NAME": app.SERVICE, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0", **env}
    )
    service = Service(settings)
    await service.start_http()
    assert service.http_port is not None
    task = asyncio.create_task(app.run(service, config))
    try:
        yield service.http_port, task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await service.stop_http()


@pytest.mark.asyncio
async def test_alive_but_not_ready_while_kafka_is_unreachable() -> None:
    env = {
        "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}",
    }
    async with running(env, app.Config(retry_seconds=0.2)) as (port, task):
        for _ in range(100):
            status, body = await asyncio.to_thread(_get, port, "/readyz")
            if "waiting for Kafka" in body:
                break
            await asyncio.sleep(0.1)
        assert status == 503
        assert "waiting for Kafka" in body
        assert await asyncio.to_thread(_get, port, "/healthz") == (200, "ok\n")
        assert not task.done(), "the service gave up instead of retrying"


@pytest.mark.asyncio
async def test_ready_without_kafka_where_the_env_gives_none() -> None:
    async with running({"KAFKA_ENABLED": "false"}, app.Config()) as (port, task):
        for _ in range(50):
            status, _ = await asyncio.to_thread(_get, port, "/readyz")
            if status == 200:
                break
            await asyncio.sleep(0.1)
        assert status == 200
        assert not task.done(), "the service stopped instead of serving"
