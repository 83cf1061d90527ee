"""streamforge_utils endpoints over real HTTP on 127.0.0.1: /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import pytest
from prometheus_client import Counter

from streamforge_utils import Service, Settings, serve

pytestmark = pytest.mark.asyncio

HANDLED = Counter("utils_test_records_handled", "records handled by the test service")


def settings() -> Settings:
    return Settings(
        service_name="http-test",
        http_host="127.0.0.1",
        http_port=0,  # any free port; the service reports it as service.http_port
        kafka_security_protocol="PLAINTEXT",
    )


async def get(port: int, path: str, method: str = "GET") -> tuple[int, str, str]:
    """(status, content type, body) of a real HTTP request, made off the event loop."""

    def call() -> tuple[int, str, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.headers["Content-Type"], response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read().decode()

    return await asyncio.to_thread(call)


async def test_health_readiness_metrics_and_shutdown() -> None:
    started = asyncio.Event()
    ready = asyncio.Event()
    cleaning_up = asyncio.Event()
    finish_cleanup = asyncio.Event()
    handle: list[Service] = []

    async def main(service: Service) -> None:
        handle.append(service)
        started.set()
        await ready.wait()
        service.set_ready()
        HANDLED.inc(3)
        try:
            await asyncio.Event().wait()  # runs until cancelled
        except asyncio.CancelledError:
            cleaning_up.set()
            await finish_cleanup.wait()  # e.g. a producer flushing
            raise

    server = asyncio.create_task(serve(main, settings()))
    await asyncio.wait_for(started.wait(), 5)
    (service,) = handle
    assert service.http_port
    port = service.http_port

    assert await get(port, "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
    assert await get(port, "/readyz") == (503, "text/plain; charset=utf-8", "starting\n")

    ready.set()
    await asyncio.sleep(0.05)
    assert (await get(port, "/readyz"))[:2] == (200, "text/plain; charset=utf-8")
    status, content_type, metrics = await get(port, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    assert 'streamforge_service_up{service="http-test"} 1.0' in metrics
    assert 'streamforge_service_ready{service="http-test"} 1.0' in metrics
    assert "utils_test_records_handled_total 3.0" in metrics
    assert "process_resident_memory_bytes" in metrics

    assert (await get(port, "/nope"))[0] == 404
    assert (await get(port, "/healthz", method="POST"))[0] == 405
    assert (await get(port, "/readyz?verbose=1"))[0] == 200

    service.stop()  # what SIGTERM does
    await asyncio.wait_for(cleaning_up.wait(), 5)
    assert await get(port, "/readyz") == (503, "text/plain; charset=utf-8", "stopping\n")
    assert (await get(port, "/healthz"))[0] == 200  # still alive while draining
    assert 'streamforge_service_ready{service="http-test"} 0.0' in (await get(port, "/metrics"))[2]

    finish_cleanup.set()
    assert await asyncio.wait_for(server, 5) == 0
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_not_ready_with_reason() -> None:
    async def main(service: Service) -> None:
        service.set_ready(False, reason="kafka unreachable")
        status = await get(service.http_port or 0, "/readyz")
        assert status == (503, "text/plain; charset=utf-8", "kafka unreachable\n")

    assert await serve(main, settings()) == 0


async def test_main_failure_is_exit_code_1() -> None:
    async def main(service: Service) -> None:
        raise RuntimeError("boom")

    assert await serve(main, settings()) == 1


async def test_every_answer_names_the_build_that_serves_it() -> None:
    import dataclasses

    for version, expected in (("3f2a9c1b7d0e", "3f2a9c1b7d0e"), ("", None)):
        service = Service(dataclasses.replace(settings(), version=version))
        await service.start_http()
        port = service.http_port
        assert port is not None
        try:

            def header(port: int) -> str | None:
                url = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url, timeout=5) as response:
                    return response.headers["X-Service-Version"]

            assert await asyncio.to_thread(header, port) == expected
        finally:
            await service.stop_http()
