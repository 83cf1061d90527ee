"""Run a service: JSON logs, /healthz, /readyz and /metrics, and a graceful stop on SIGTERM.

    async def main(service: Service) -> None:
        async with kafka_consumer(service.settings, "in", group_id="x") as consumer:
            service.set_ready()
            async for message in consumer:
                ...

    sys.exit(run_service(main))

On SIGTERM (or SIGINT) /readyz turns 503, `main` is cancelled so its `async with` blocks close
their clients (the producer flushes, the consumer commits), and the process exits 0 once `main`
has returned, or 1 if that takes longer than SHUTDOWN_TIMEOUT seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
)

from .logs import configure_logging
from .settings import Settings, SettingsError

log = logging.getLogger("streamforge_utils.service")

# One set of library metrics per process, labelled by service; a service adds its own with
# prometheus_client (Counter, Histogram, ...) and they appear on /metrics too.
_UP = Gauge("streamforge_service_up", "1 while the service runs", ["service"])
_READY = Gauge("streamforge_service_ready", "1 while /readyz answers 200", ["service"])

Main = Callable[["Service"], Coroutine[Any, Any, None]]


class Service:
    """What `main` gets: the settings, readiness control and the stop signal."""

    def __init__(self, settings: Settings, registry: CollectorRegistry = REGISTRY) -> None:
        self.settings = settings
        self.registry = registry
        self.stopping = asyncio.Event()
        self.http_port: int | None = None  # the bound port, once the HTTP server listens
        self._ready = False
        self._not_ready_reason = "starting"
        self._server: asyncio.Server | None = None

    @property
    def ready(self) -> bool:
        return self._ready and not self.stopping.is_set()

    def set_ready(self, ready: bool = True, reason: str = "not ready") -> None:
        """Mark the service ready for traffic (or not, with a reason shown on /readyz)."""
        self._ready = ready
        self._not_ready_reason = reason
        _READY.labels(self.settings.service_name).set(1 if self.ready else 0)

    def stop(self) -> None:
        """Begin shutdown: /readyz turns 503 and `stopping` is set."""
        if not self.stopping.is_set():
            self.stopping.set()
            _READY.labels(self.settings.service_name).set(0)

    async def start_http(self) -> None:
        """Listen for /healthz, /readyz and /metrics on settings.http_host:http_port."""
        self._server = await asyncio.start_server(
            self._handle, self.settings.http_host, self.settings.http_port
        )
        self.http_port = self._server.sockets[0].getsockname()[1]

    async def stop_http(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        text = "text/plain; charset=utf-8"
        if method not in ("GET", "HEAD"):
            return 405, text, b"method not allowed\n"
        if path == "/healthz":
            return 200, text, b"ok\n"
        if path == "/readyz":
            if self.ready:
                return 200, text, b"ready\n"
            reason = "stopping" if self.stopping.is_set() else self._not_ready_reason
            return 503, text, f"{reason}\n".encode()
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)
        return 404, text, b"not found\n"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                request_line = await reader.readline()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # headers: nothing here needs them
            method, target, *_ = request_line.decode("latin-1").split() or ["", ""]
            status, content_type, body = self._respond(method, target.split("?", 1)[0])
            reasons = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Unavailable"}
            version = self.settings.version
            head = (
                f"HTTP/1.1 {status} {reasons[status]}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n"
                + (f"X-Service-Version: {version}\r\n" if version else "")
                + "\r\n"
            )
            writer.write(head.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ValueError, ConnectionError):
            pass  # a probe that hung up or sent garbage gets no answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def serve(main: Main, settings: Settings) -> int:
    """Run `main` and the HTTP endpoints until main returns or SIGTERM; return the exit code."""
    service = Service(settings)
    _UP.labels(settings.service_name).set(1)
    _READY.labels(settings.service_name).set(0)
    await service.start_http()
    log.info("listening on %s:%s", settings.http_host, service.http_port)

    task = asyncio.create_task(main(service), name=f"{settings.service_name}-main")
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []

    def on_signal(signum: signal.Signals) -> None:
        if service.stopping.is_set():
            return
        log.info("received %s, shutting down", signum.name)
        service.stop()  # serve() then cancels main, once

    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)

    code = 0
    stop_requested = asyncio.create_task(service.stopping.wait())
    try:
        await asyncio.wait({task, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():  # a signal arrived, or main called service.stop()
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=settings.shutdown_timeout)
        if not done:
            log.error("main did not stop within %ss (SHUTDOWN_TIMEOUT)", settings.shutdown_timeout)
            code = 1
        elif task.cancelled():
            log.info("stopped")
        elif (error := task.exception()) is not None:
            log.error("main failed: %s", error, exc_info=error)
            code = 1
        else:
            log.info("main returned, stopping")
    finally:
        stop_requested.cancel()
        if not task.done():  # serve() itself was cancelled
            task.cancel()
        service.stop()
        for signum in installed:
            loop.remove_signal_handler(signum)
        await service.stop_http()
        _UP.labels(settings.service_name).set(0)
    return code


def run_service(main: Main, settings: Settings | None = None) -> int:
    """Install JSON logging, then run `main` until it returns or the process gets SIGTERM.

    Returns the process exit code (0: stopped cleanly). With `settings=None` they are read from
    the environment; unusable settings print one line per problem to stderr and return 2.
    """
    if settings is None:
        try:
            settings = Settings.from_env()
        except SettingsError as err:
            print(
                f"configuration error: {err}".replace("\n", "\nconfiguration error: "),
                file=sys.stderr,
            )
            return 2
    configure_logging(settings.service_name, settings.log_level)
    return asyncio.run(serve(main, settings))
