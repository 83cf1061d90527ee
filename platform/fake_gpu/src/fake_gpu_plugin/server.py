"""The gRPC side: the DevicePlugin service and its lifecycle against the kubelet.

Lifecycle, as NVIDIA's plugin does it:
1. remove a stale socket, serve v1beta1.DevicePlugin on `<dir>/nvidia-gpu.sock`, and check that
   it answers (a blocking dial of our own socket);
2. Register with the kubelet on `<dir>/kubelet.sock` (the kubelet calls GetDevicePluginOptions
   and opens ListAndWatch while Register is in flight, hence the thread-pool server);
3. keep ListAndWatch streams open, sending the full list again on every health change;
4. when kubelet.sock is re-created (a kubelet restart; it also deletes our socket), start over;
5. on stop, end the streams, stop the server and remove the socket.
Watching uses polling of os.stat() (no inotify dependency).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc

from fake_gpu_plugin.api import api_pb2, api_pb2_grpc
from fake_gpu_plugin.devices import AllocationError, DeviceSet

log = logging.getLogger(__name__)

API_VERSION = "v1beta1"
DEVICE_PLUGIN_DIR = Path("/var/lib/kubelet/device-plugins")
KUBELET_SOCKET = "kubelet.sock"


def socket_name(resource_name: str) -> str:
    """NVIDIA's socket name: nvidia-<name after the slash>.sock (nvidia-gpu.sock)."""
    return f"nvidia-{resource_name.split('/', 1)[-1]}.sock"


class DevicePluginServicer(api_pb2_grpc.DevicePluginServicer):
    """v1beta1.DevicePlugin for one resource, backed by a DeviceSet."""

    def __init__(self, devices: DeviceSet, stopping: threading.Event) -> None:
        self.devices = devices
        self.stopping = stopping

    @staticmethod
    def options() -> api_pb2.DevicePluginOptions:
        return api_pb2.DevicePluginOptions(
            pre_start_required=False, get_preferred_allocation_available=True
        )

    def GetDevicePluginOptions(
        self, request: api_pb2.Empty, context: grpc.ServicerContext
    ) -> api_pb2.DevicePluginOptions:
        return self.options()

    def ListAndWatch(
        self, request: api_pb2.Empty, context: grpc.ServicerContext
    ) -> Iterator[api_pb2.ListAndWatchResponse]:
        context.add_callback(self.devices.wake)
        generation, devices = self.devices.snapshot()
        log.info("ListAndWatch: sending %d devices", len(devices))
        yield self._message(devices)
        while context.is_active() and not self.stopping.is_set():
            current = self.devices.wait_for_change(generation, timeout=1.0)
            if current != generation and context.is_active() and not self.stopping.is_set():
                generation, devices = self.devices.snapshot()
                unhealthy = sum(1 for _, health in devices if health != "Healthy")
                log.info("ListAndWatch: health changed, %d unhealthy devices", unhealthy)
                yield self._message(devices)

    @staticmethod
    def _message(devices: list[tuple[str, str]]) -> api_pb2.ListAndWatchResponse:
        return api_pb2.ListAndWatchResponse(
            devices=[api_pb2.Device(ID=device_id, health=health) for device_id, health in devices]
        )

    def GetPreferredAllocation(
        self, request: api_pb2.PreferredAllocationRequest, context: grpc.ServicerContext
    ) -> api_pb2.PreferredAllocationResponse:
        responses = [
            api_pb2.ContainerPreferredAllocationResponse(
                deviceIDs=self.devices.preferred(
                    list(req.available_deviceIDs),
                    list(req.must_include_deviceIDs),
                    req.allocation_size,
                )
            )
            for req in request.container_requests
        ]
        return api_pb2.PreferredAllocationResponse(container_responses=responses)

    def Allocate(
        self, request: api_pb2.AllocateRequest, context: grpc.ServicerContext
    ) -> api_pb2.AllocateResponse:
        responses = []
        for req in request.container_requests:
            ids = list(req.devices_ids)
            try:
                envs = self.devices.allocate_envs(ids)
            except AllocationError as exc:
                message = f'invalid allocation request for "{self.devices.resource_name}": {exc}'
                log.warning("Allocate %s: %s", ids, message)
                context.abort(grpc.StatusCode.UNKNOWN, message)
            log.info("Allocate %s: %s", ids, envs)
            responses.append(api_pb2.ContainerAllocateResponse(envs=envs))
        return api_pb2.AllocateResponse(container_responses=responses)

    def PreStartContainer(
        self, request: api_pb2.PreStartContainerRequest, context: grpc.ServicerContext
    ) -> api_pb2.PreStartContainerResponse:
        return api_pb2.PreStartContainerResponse()


class RegistrationError(RuntimeError):
    pass


def _socket_identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_ctime_ns


class FakeGpuPlugin:
    """Serves one resource's devices and keeps it registered with the kubelet."""

    def __init__(
        self,
        devices: DeviceSet,
        plugin_dir: Path = DEVICE_PLUGIN_DIR,
        *,
        poll_interval: float = 1.0,
        retry_interval: float = 5.0,
        health_file: Path | None = None,
    ) -> None:
        self.devices = devices
        self.plugin_dir = Path(plugin_dir)
        self.socket_path = self.plugin_dir / socket_name(devices.resource_name)
        self.kubelet_socket = self.plugin_dir / KUBELET_SOCKET
        self.poll_interval = poll_interval
        self.retry_interval = retry_interval
        self.health_file = health_file
        self.registrations = 0
        self.registered = threading.Event()
        self._server: grpc.Server | None = None
        self._streams_stop = threading.Event()
        self._kubelet_identity: tuple[int, int, int] | None = None
        self._health_mtime: int | None = None

    # --- one serving generation ---------------------------------------------------------------

    def start(self) -> None:
        """Serve the DevicePlugin service on a fresh socket and wait until it answers."""
        self.plugin_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self._streams_stop = threading.Event()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="dp"))
        api_pb2_grpc.add_DevicePluginServicer_to_server(
            DevicePluginServicer(self.devices, self._streams_stop), server
        )
        server.add_insecure_port(f"unix://{self.socket_path}")
        server.start()
        self._server = server
        with grpc.insecure_channel(f"unix://{self.socket_path}") as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=5)
            except grpc.FutureTimeoutError as exc:
                self.stop()
                raise RegistrationError(f"own socket {self.socket_path} does not answer") from exc
        log.info("serving %s on %s", self.devices.resource_name, self.socket_path)

    def register(self, timeout: float = 10.0) -> None:
        """Send RegisterRequest to kubelet.sock."""
        identity = _socket_identity(self.kubelet_socket)
        if identity is None:
            raise RegistrationError(f"{self.kubelet_socket} does not exist (kubelet not running?)")
        request = api_pb2.RegisterRequest(
            version=API_VERSION,
            endpoint=self.socket_path.name,
            resource_name=self.devices.resource_name,
            options=DevicePluginServicer.options(),
        )
        with grpc.insecure_channel(f"unix://{self.kubelet_socket}") as channel:
            try:
                api_pb2_grpc.RegistrationStub(channel).Register(request, timeout=timeout)
            except grpc.RpcError as exc:
                raise RegistrationError(
                    f"Register with {self.kubelet_socket} failed: {exc.code().name}: "
                    f"{exc.details()}"
                ) from exc
        self._kubelet_identity = identity
        self.registrations += 1
        self.registered.set()
        log.info(
            "registered %s (endpoint %s) with the kubelet",
            self.devices.resource_name,
            self.socket_path.name,
        )

    def stop(self) -> None:
        """End the ListAndWatch streams, stop serving and remove the socket."""
        self.registered.clear()
        self._streams_stop.set()
        self.devices.wake()
        if self._server is not None:
            self._server.stop(grace=1).wait()
            self._server = None
        self.socket_path.unlink(missing_ok=True)

    # --- the long-running loop ----------------------------------------------------------------

    def _start_and_register(self, stop: threading.Event) -> bool:
        """Start and register, retrying every retry_interval; False if stopped first."""
        while not stop.is_set():
            try:
                self.start()
                self.register()
                return True
            except RegistrationError as exc:
                log.warning("%s; retrying in %.1fs", exc, self.retry_interval)
                self.stop()
            stop.wait(self.retry_interval)
        return False

    def needs_restart(self) -> bool:
        """True when kubelet.sock was re-created or our socket was removed (kubelet restart)."""
        if _socket_identity(self.kubelet_socket) != self._kubelet_identity:
            return True
        return not self.socket_path.exists()

    def poll_health_file(self) -> None:
        """Read the health file (one GPU index or UUID per line = unhealthy) when it changed."""
        if self.health_file is None:
            return
        try:
            mtime = self.health_file.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime == self._health_mtime:
            return
        self._health_mtime = mtime
        refs: list[str] = []
        if mtime is not None:
            lines = self.health_file.read_text().splitlines()
            refs = [line.strip() for line in lines if line.strip() and line[0] != "#"]
        for ref in refs:
            if self.devices.resolve_gpu(ref) is None:
                log.warning("health file %s: no GPU %r on this node", self.health_file, ref)
        if self.devices.set_unhealthy(refs):
            log.info("unhealthy GPUs now: %s", ", ".join(refs) or "none")

    def run(self, stop: threading.Event) -> None:
        """Serve until `stop` is set, re-registering after kubelet restarts."""
        self.poll_health_file()
        try:
            if not self._start_and_register(stop):
                return
            while not stop.wait(self.poll_interval):
                self.poll_health_file()
                if self.needs_restart():
                    log.info("kubelet restarted (kubelet.sock re-created): registering again")
                    self.stop()
                    if not self._start_and_register(stop):
                        return
        finally:
            self.stop()
            log.info("stopped; removed %s", self.socket_path)
