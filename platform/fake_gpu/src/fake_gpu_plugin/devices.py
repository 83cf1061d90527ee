"""The node's fake physical GPUs and the replicated devices advertised for them.

Device IDs follow NVIDIA's plugin: the base ID is the GPU's UUID (`GPU-<uuid>`) and each of the
R time-slicing replicas is `<uuid>::<i>` with i = 0..R-1. The fake UUIDs are derived from the node
name and GPU index, so they stay the same across plugin restarts (the kubelet's checkpoint keeps
allocated device IDs).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from fake_gpu_plugin.config import FULL_GPU_RESOURCE, PluginConfig

HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"
REPLICA_SEPARATOR = "::"
_UUID_NAMESPACE = uuid.UUID("6f0c1a8e-3b7d-5e42-9a61-2f5b8c4d7e90")


@dataclass(frozen=True)
class FakeGpu:
    index: int
    uuid: str
    product: str
    memory_mib: int


def fake_gpus(node_name: str, count: int, product: str, memory_mib: int) -> list[FakeGpu]:
    """`count` GPUs with stable UUIDs for `node_name`."""
    return [
        FakeGpu(
            index=i,
            uuid="GPU-" + str(uuid.uuid5(_UUID_NAMESPACE, f"{node_name}/{i}")),
            product=product,
            memory_mib=memory_mib,
        )
        for i in range(count)
    ]


def strip_replica(device_id: str) -> str:
    """`GPU-x::3` -> `GPU-x` (NVIDIA splits on the first `::`)."""
    return device_id.split(REPLICA_SEPARATOR, 1)[0]


class AllocationError(Exception):
    """A request NVIDIA's plugin would reject; str() is the upstream wording."""


class DeviceSet:
    """The advertised devices of one resource, their health, and NVIDIA's Allocate rules."""

    def __init__(self, gpus: list[FakeGpu], config: PluginConfig) -> None:
        self.gpus = list(gpus)
        self.config = config
        self.resource_name = config.resource_name(FULL_GPU_RESOURCE)
        self.replicas = config.replicas(FULL_GPU_RESOURCE)
        self.replicated = config.replicated(FULL_GPU_RESOURCE) is not None
        self.fail_requests_greater_than_one = config.fail_requests_greater_than_one
        self._parent: dict[str, FakeGpu] = {}
        for gpu in self.gpus:
            for device_id in self._ids_of(gpu):
                self._parent[device_id] = gpu
        self._unhealthy: set[str] = set()  # GPU UUIDs
        self._lock = threading.Condition()
        self._generation = 0

    def _ids_of(self, gpu: FakeGpu) -> list[str]:
        if not self.replicated:
            return [gpu.uuid]
        return [f"{gpu.uuid}{REPLICA_SEPARATOR}{i}" for i in range(self.replicas)]

    @property
    def ids(self) -> list[str]:
        return list(self._parent)

    def parent(self, device_id: str) -> FakeGpu:
        return self._parent[device_id]

    # --- health -----------------------------------------------------------------------------

    def snapshot(self) -> tuple[int, list[tuple[str, str]]]:
        """(generation, [(device ID, health), ...]) for one ListAndWatch message."""
        with self._lock:
            devices = [
                (device_id, UNHEALTHY if gpu.uuid in self._unhealthy else HEALTHY)
                for device_id, gpu in self._parent.items()
            ]
            return self._generation, devices

    def resolve_gpu(self, ref: str) -> FakeGpu | None:
        """A GPU by index (`0`) or UUID (`GPU-...`); None when it does not exist."""
        ref = ref.strip()
        for gpu in self.gpus:
            if ref == gpu.uuid or ref == str(gpu.index):
                return gpu
        return None

    def set_unhealthy(self, refs: Iterable[str]) -> bool:
        """Mark exactly these GPUs (index or UUID) unhealthy, all others healthy.

        All replicas of an unhealthy GPU become Unhealthy, as with NVIDIA's health checks.
        Returns True when anything changed (ListAndWatch streams then send a new list).
        """
        unhealthy = {gpu.uuid for ref in refs if (gpu := self.resolve_gpu(ref)) is not None}
        with self._lock:
            if unhealthy == self._unhealthy:
                return False
            self._unhealthy = unhealthy
            self._generation += 1
            self._lock.notify_all()
            return True

    def wait_for_change(self, generation: int, timeout: float) -> int:
        """Block until a change, a wake() or `timeout`; return the current generation."""
        with self._lock:
            if self._generation == generation:
                self._lock.wait(timeout)
            return self._generation

    def wake(self) -> None:
        with self._lock:
            self._lock.notify_all()

    # --- allocation -------------------------------------------------------------------------

    def validate_request(self, device_ids: list[str]) -> None:
        """NVIDIA's ValidateRequest: known devices; at most one shared replica if configured."""
        for device_id in device_ids:
            if device_id not in self._parent:
                raise AllocationError(f"invalid request: unknown device: {device_id}")
        shared = any(REPLICA_SEPARATOR in d for d in device_ids)
        if shared and self.fail_requests_greater_than_one and len(device_ids) > 1:
            raise AllocationError(
                "invalid request: maximum request size for shared resources is 1; "
                f"found {len(device_ids)}"
            )

    def allocate_envs(self, device_ids: list[str]) -> dict[str, str]:
        """Environment for one container (DEVICE_LIST_STRATEGY=envvar, DEVICE_ID_STRATEGY=uuid).

        Replica suffixes are stripped without de-duplicating: two replicas of one GPU give
        `GPU-a,GPU-a`, as NVIDIA's plugin does.
        """
        self.validate_request(device_ids)
        return {"NVIDIA_VISIBLE_DEVICES": ",".join(strip_replica(d) for d in device_ids)}

    def preferred(self, available: list[str], must_include: list[str], size: int) -> list[str]:
        """NVIDIA's distributed allocation for replicas: spread over the least-used GPUs."""
        chosen = [d for d in must_include if d in self._parent]
        if len(chosen) >= size:
            return chosen[:size]
        candidates = [d for d in available if d in self._parent and d not in chosen]
        if not self.replicated:
            return chosen + candidates[: size - len(chosen)]
        free_per_gpu: dict[str, int] = {}
        for device_id in candidates:
            gpu = self._parent[device_id].uuid
            free_per_gpu[gpu] = free_per_gpu.get(gpu, 0) + 1
        # replicas of each GPU not free: handed out to other containers, or must-include here
        used = {gpu.uuid: self.replicas - free_per_gpu.get(gpu.uuid, 0) for gpu in self.gpus}
        while len(chosen) < size and candidates:
            best = min(
                candidates,
                key=lambda d: (used[self._parent[d].uuid], self._parent[d].index, d),
            )
            candidates.remove(best)
            chosen.append(best)
            used[self._parent[best].uuid] += 1
        return chosen
