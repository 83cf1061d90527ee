"""The device plugin over real gRPC on unix sockets, against a fake kubelet."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from fake_gpu_plugin.api import api_pb2
from fake_gpu_plugin.devices import fake_gpus
from tests.gpu.gpu_fake_kubelet import (
    FakeKubelet,
    plugin_client,
    plugin_dir,
    running_plugin,
    time_slicing,
    wait_until,
)

NODE = "kind-worker"
GPU0, GPU1 = (gpu.uuid for gpu in fake_gpus(NODE, 2, "x", 1))


@pytest.fixture
def directory() -> Iterator[Path]:
    with plugin_dir() as path:
        yield path


@pytest.fixture
def kubelet(directory: Path) -> Iterator[FakeKubelet]:
    fake = FakeKubelet(directory).start()
    yield fake
    fake.stop()


def allocate(socket: Path, *containers: list[str]) -> api_pb2.AllocateResponse:
    request = api_pb2.AllocateRequest(
        container_requests=[api_pb2.ContainerAllocateRequest(devices_ids=ids) for ids in containers]
    )
    with plugin_client(socket) as client:
        return client.Allocate(request, timeout=5)


def test_registration_contents(directory: Path, kubelet: FakeKubelet) -> None:
    with running_plugin(directory, time_slicing(4)) as plugin:
        reg = kubelet.wait_registrations(1)
        assert reg.request.version == "v1beta1"
        assert reg.request.endpoint == "nvidia-gpu.sock"
        assert reg.request.resource_name == "nvidia.com/gpu"
        assert reg.request.options.get_preferred_allocation_available is True
        assert reg.request.options.pre_start_required is False
        # GetDevicePluginOptions was answered while Register was in flight, and agrees
        assert reg.options == reg.request.options
        assert (directory / "nvidia-gpu.sock").is_socket()
        wait_until(lambda: plugin.registrations == 1)


def test_streams_count_times_replicas_devices(directory: Path, kubelet: FakeKubelet) -> None:
    with running_plugin(directory, time_slicing(4), count=2):
        kubelet.wait_registrations(1)
        devices = kubelet.wait_devices(lambda devices: len(devices) > 0)
    expected = [f"{gpu}::{i}" for gpu in (GPU0, GPU1) for i in range(4)]
    assert [device_id for device_id, _ in devices] == expected
    assert {health for _, health in devices} == {"Healthy"}
    assert all(len(device_id) <= 63 for device_id in expected)


def test_without_sharing_each_gpu_is_one_device(directory: Path, kubelet: FakeKubelet) -> None:
    with running_plugin(directory, "", count=2):
        devices = kubelet.wait_devices(lambda devices: len(devices) > 0)
        assert [device_id for device_id, _ in devices] == [GPU0, GPU1]
        response = allocate(directory / "nvidia-gpu.sock", [GPU0, GPU1])
    assert response.container_responses[0].envs["NVIDIA_VISIBLE_DEVICES"] == f"{GPU0},{GPU1}"


def test_rename_by_default_serves_the_shared_resource(
    directory: Path, kubelet: FakeKubelet
) -> None:
    with running_plugin(directory, time_slicing(2, rename=True)):
        reg = kubelet.wait_registrations(1)
        assert reg.request.resource_name == "nvidia.com/gpu.shared"
        assert reg.request.endpoint == "nvidia-gpu.shared.sock"
        assert (directory / "nvidia-gpu.shared.sock").is_socket()


def test_allocate_sets_nvidia_visible_devices(directory: Path, kubelet: FakeKubelet) -> None:
    with running_plugin(directory, time_slicing(4)):
        kubelet.wait_registrations(1)
        socket = directory / "nvidia-gpu.sock"
        response = allocate(socket, [f"{GPU1}::2"], [f"{GPU0}::0"])
        same_gpu = allocate(socket, [f"{GPU0}::1", f"{GPU0}::3"])
        two_gpus = allocate(socket, [f"{GPU0}::1", f"{GPU1}::0"])
    envs = [dict(r.envs) for r in response.container_responses]
    assert envs == [{"NVIDIA_VISIBLE_DEVICES": GPU1}, {"NVIDIA_VISIBLE_DEVICES": GPU0}]
    # duplicates are kept, as NVIDIA's plugin does
    assert same_gpu.container_responses[0].envs["NVIDIA_VISIBLE_DEVICES"] == f"{GPU0},{GPU0}"
    assert two_gpus.container_responses[0].envs["NVIDIA_VISIBLE_DEVICES"] == f"{GPU0},{GPU1}"
    assert not response.container_responses[0].devices  # no host device nodes in kind
    assert not response.container_responses[0].mounts


def test_more_than_one_replica_fails_when_configured(directory: Path, kubelet: FakeKubelet) -> None:
    with running_plugin(directory, time_slicing(4, fail=True)):
        kubelet.wait_registrations(1)
        socket = directory / "nvidia-gpu.sock"
        single = allocate(socket, [f"{GPU0}::3"])
        with pytest.raises(grpc.RpcError) as failure:
            allocate(socket, [f"{GPU0}::0", f"{GPU1}::0"])
    assert single.container_responses[0].envs["NVIDIA_VISIBLE_DEVICES"] == GPU0
    assert failure.value.code() == grpc.StatusCode.UNKNOWN
    assert failure.value.details() == (
        'invalid allocation request for "nvidia.com/gpu": invalid request: '
        "maximum request size for shared resources is 1; found 2"
    )


def test_allocate_unknown_device_fails(directory: Path, kubelet: FakeKubelet) -> None:
    with running_plugin(directory, time_slicing(4)):
        kubelet.wait_registrations(1)
        with pytest.raises(grpc.RpcError) as failure:
            allocate(directory / "nvidia-gpu.sock", [f"{GPU0}::9"])
    assert f"unknown device: {GPU0}::9" in (failure.value.details() or "")


def test_preferred_allocation_spreads_over_gpus(directory: Path, kubelet: FakeKubelet) -> None:
    all_ids = [f"{gpu}::{i}" for gpu in (GPU0, GPU1) for i in range(4)]
    with running_plugin(directory, time_slicing(4)):
        kubelet.wait_registrations(1)
        with plugin_client(directory / "nvidia-gpu.sock") as client:
            fresh = client.GetPreferredAllocation(
                api_pb2.PreferredAllocationRequest(
                    container_requests=[
                        api_pb2.ContainerPreferredAllocationRequest(
                            available_deviceIDs=all_ids, allocation_size=2
                        )
                    ]
                ),
                timeout=5,
            )
            # GPU0 already has 3 replicas handed out: prefer GPU1
            loaded = client.GetPreferredAllocation(
                api_pb2.PreferredAllocationRequest(
                    container_requests=[
                        api_pb2.ContainerPreferredAllocationRequest(
                            available_deviceIDs=[f"{GPU0}::3", *all_ids[4:]], allocation_size=1
                        )
                    ]
                ),
                timeout=5,
            )
    picked = list(fresh.container_responses[0].deviceIDs)
    assert len(picked) == 2
    assert {device_id.split("::")[0] for device_id in picked} == {GPU0, GPU1}
    assert list(loaded.container_responses[0].deviceIDs) == [f"{GPU1}::0"]


def test_pre_start_container_is_a_no_op(directory: Path, kubelet: FakeKubelet) -> None:
    with running_plugin(directory, time_slicing(2)):
        kubelet.wait_registrations(1)
        with plugin_client(directory / "nvidia-gpu.sock") as client:
            response = client.PreStartContainer(
                api_pb2.PreStartContainerRequest(devices_ids=[f"{GPU0}::0"]), timeout=5
            )
    assert response == api_pb2.PreStartContainerResponse()


def test_reregisters_after_kubelet_restart(directory: Path, kubelet: FakeKubelet) -> None:
    with running_plugin(directory, time_slicing(4)) as plugin:
        first = kubelet.wait_registrations(1)
        kubelet.wait_devices(lambda devices: len(devices) == 8)
        kubelet.restart()  # deletes every socket, including the plugin's, then serves anew
        assert first.stream_ended.wait(5), "the old ListAndWatch stream did not end"
        second = kubelet.wait_registrations(2)
        assert second.request.resource_name == "nvidia.com/gpu"
        devices = kubelet.wait_devices(lambda devices: len(devices) == 8, registration=1)
        assert (directory / "nvidia-gpu.sock").is_socket()
        wait_until(lambda: plugin.registrations == 2)
        assert {health for _, health in devices} == {"Healthy"}
        # and the new socket serves Allocate
        response = allocate(directory / "nvidia-gpu.sock", [f"{GPU1}::1"])
        assert response.container_responses[0].envs["NVIDIA_VISIBLE_DEVICES"] == GPU1


def test_registers_once_the_kubelet_appears(directory: Path) -> None:
    with running_plugin(directory, time_slicing(2)) as plugin:
        wait_until(lambda: (directory / "nvidia-gpu.sock").exists() or plugin.registrations > 0)
        kubelet = FakeKubelet(directory).start()
        try:
            reg = kubelet.wait_registrations(1)
            assert reg.request.resource_name == "nvidia.com/gpu"
        finally:
            kubelet.stop()


def test_unhealthy_devices_are_streamed(directory: Path, kubelet: FakeKubelet) -> None:
    health = directory / "unhealthy"
    with running_plugin(directory, time_slicing(4), health_file=health):
        kubelet.wait_devices(lambda devices: len(devices) == 8)
        health.write_text("# GPUs that fail\n1\n")
        devices = kubelet.wait_devices(lambda ds: any(h == "Unhealthy" for _, h in ds))
        unhealthy = {device_id for device_id, h in devices if h == "Unhealthy"}
        assert unhealthy == {f"{GPU1}::{i}" for i in range(4)}
        assert all(h == "Healthy" for device_id, h in devices if device_id.startswith(GPU0))

        health.write_text(f"{GPU0}\n")  # by UUID; GPU1 recovers
        devices = kubelet.wait_devices(lambda ds: (f"{GPU1}::0", "Healthy") in ds)
        assert {d for d, h in devices if h == "Unhealthy"} == {f"{GPU0}::{i}" for i in range(4)}

        os.remove(health)
        devices = kubelet.wait_devices(lambda ds: all(h == "Healthy" for _, h in ds))
        assert len(devices) == 8


def test_stop_ends_streams_and_removes_socket(directory: Path, kubelet: FakeKubelet) -> None:
    with running_plugin(directory, time_slicing(2)):
        reg = kubelet.wait_registrations(1)
        kubelet.wait_devices(lambda devices: len(devices) == 4)
    assert reg.stream_ended.wait(5)
    assert not (directory / "nvidia-gpu.sock").exists()
