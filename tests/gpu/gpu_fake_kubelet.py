"""Test helpers for the fake GPU device plugin: a fake kubelet and a plugin running in a thread.

The fake kubelet serves v1beta1.Registration on <dir>/kubelet.sock and, like the real one, dials
the plugin's socket during Register, calls GetDevicePluginOptions synchronously and then follows
ListAndWatch in a thread, recording every device list.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from fake_gpu_plugin.api import api_pb2, api_pb2_grpc
from fake_gpu_plugin.config import load_config
from fake_gpu_plugin.devices import DeviceSet, fake_gpus
from fake_gpu_plugin.server import FakeGpuPlugin

TIMEOUT = 10.0

TIME_SLICING = """\
version: v1
flags:
  migStrategy: none
sharing:
  timeSlicing:
    renameByDefault: {rename}
    failRequestsGreaterThanOne: {fail}
    resources:
    - name: nvidia.com/gpu
      replicas: {replicas}
"""


def time_slicing(replicas: int = 4, *, fail: bool = False, rename: bool = False) -> str:
    return TIME_SLICING.format(
        replicas=replicas, fail=str(fail).lower(), rename=str(rename).lower()
    )


def short_tmpdir() -> Path:
    """A short folder under /tmp (unix socket paths are limited to about 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix="fgpu-", dir="/tmp"))


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.01)


@dataclass
class Registration:
    request: Any  # api_pb2.RegisterRequest
    options: Any  # api_pb2.DevicePluginOptions, from GetDevicePluginOptions during Register
    updates: list[list[tuple[str, str]]] = field(default_factory=list)
    stream_ended: threading.Event = field(default_factory=threading.Event)


class FakeKubelet(api_pb2_grpc.RegistrationServicer):
    def __init__(self, plugin_dir: Path) -> None:
        self.plugin_dir = plugin_dir
        self.socket = plugin_dir / "kubelet.sock"
        self.registrations: list[Registration] = []
        self.rejections: list[str] = []
        self._cond = threading.Condition()
        self._server: grpc.Server | None = None
        self._channels: list[grpc.Channel] = []

    def start(self) -> FakeKubelet:
        self.plugin_dir.mkdir(parents=True, exist_ok=True)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        api_pb2_grpc.add_RegistrationServicer_to_server(self, server)
        server.add_insecure_port(f"unix://{self.socket}")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        for channel in self._channels:
            channel.close()
        self._channels.clear()
        if self._server is not None:
            self._server.stop(grace=0).wait()
            self._server = None
        self.socket.unlink(missing_ok=True)

    def restart(self) -> None:
        """Like a kubelet restart: stop, delete every socket in the folder, serve anew."""
        self.stop()
        for entry in self.plugin_dir.iterdir():
            if entry.is_socket():
                entry.unlink()
        self.start()

    def Register(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.version != "v1beta1":
            self.rejections.append(request.version)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported {request.version}")
        channel = grpc.insecure_channel(f"unix://{self.plugin_dir / request.endpoint}")
        self._channels.append(channel)
        stub = api_pb2_grpc.DevicePluginStub(channel)
        options = stub.GetDevicePluginOptions(api_pb2.Empty(), timeout=5)
        registration = Registration(request=request, options=options)
        stream = stub.ListAndWatch(api_pb2.Empty())
        threading.Thread(target=self._follow, args=(registration, stream), daemon=True).start()
        with self._cond:
            self.registrations.append(registration)
            self._cond.notify_all()
        return api_pb2.Empty()

    def _follow(self, registration: Registration, stream: Any) -> None:
        try:
            for response in stream:
                with self._cond:
                    registration.updates.append([(d.ID, d.health) for d in response.devices])
                    self._cond.notify_all()
        except grpc.RpcError:
            pass
        finally:
            registration.stream_ended.set()
            with self._cond:
                self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout=timeout):
                raise AssertionError(f"fake kubelet: timed out waiting for {what or predicate}")

    def wait_registrations(self, count: int, timeout: float = TIMEOUT) -> Registration:
        self.wait(lambda: len(self.registrations) >= count, timeout, f"{count} registrations")
        return self.registrations[count - 1]

    def wait_devices(
        self,
        predicate: Callable[[list[tuple[str, str]]], bool],
        registration: int = -1,
        timeout: float = TIMEOUT,
    ) -> list[tuple[str, str]]:
        def check() -> bool:
            reg = self.registrations[registration] if self.registrations else None
            return bool(reg and reg.updates and predicate(reg.updates[-1]))

        self.wait(check, timeout, "a matching device list")
        return self.registrations[registration].updates[-1]


@contextlib.contextmanager
def plugin_dir() -> Iterator[Path]:
    path = short_tmpdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def running_plugin(
    directory: Path,
    config_text: str = "",
    *,
    count: int = 2,
    node: str = "kind-worker",
    health_file: Path | None = None,
) -> Iterator[FakeGpuPlugin]:
    """FakeGpuPlugin.run() in a thread, polling fast; stopped and joined on exit."""
    config = load_config(config_text)
    devices = DeviceSet(fake_gpus(node, count, "NVIDIA-GeForce-RTX-3090", 24576), config)
    plugin = FakeGpuPlugin(
        devices, directory, poll_interval=0.02, retry_interval=0.05, health_file=health_file
    )
    stop = threading.Event()
    thread = threading.Thread(target=plugin.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield plugin
    finally:
        stop.set()
        thread.join(timeout=TIMEOUT)
        assert not thread.is_alive(), "the plugin did not stop"


@contextlib.contextmanager
def plugin_client(socket: Path) -> Iterator[Any]:
    """A DevicePluginStub on the plugin's socket (to call Allocate etc. as the kubelet does)."""
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        yield api_pb2_grpc.DevicePluginStub(channel)
