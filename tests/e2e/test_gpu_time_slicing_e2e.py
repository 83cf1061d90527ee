"""e2e: GPU time-slicing with the real kubelet. The fake device plugin on the replica's GPU node
(count 1, 4 replicas, the time-slicing ConfigMap production's GPU Operator reads) lets four pods
that each request `nvidia.com/gpu: 1` run, all handed the same physical GPU, while a fifth stays
Pending; the node carries GPU Feature Discovery's labels.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.conftest import missing
from tests.e2e.conftest import apply, kubectl, needs, platform, wait_for
from tests.e2e.test_replica import image


def gpu_node() -> dict[str, Any]:
    """The node standing for the homelab's GPU node, as the cluster reports it."""
    needs("fake-gpu")
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    for node in nodes:
        if "nvidia.com/gpu.count" in node["metadata"].get("labels", {}):
            return node
    missing("no node carries the fake GPU plugin's nvidia.com/gpu.count label")
    raise AssertionError("unreachable")


def gpu_pod(name: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": node},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
            "containers": [
                {
                    "name": "gpu",
                    "image": image("busybox"),
                    "command": ["sh", "-c", "echo gpu=$NVIDIA_VISIBLE_DEVICES; sleep 3600"],
                    "resources": {"limits": {"nvidia.com/gpu": 1}},
                }
            ],
        },
    }


def test_the_gpu_node_carries_gpu_feature_discovery_labels(replica: None) -> None:
    node = wait_for(
        "the fake GPU plugin to label and advertise the GPU node",
        lambda: (n := gpu_node())["status"].get("allocatable", {}).get("nvidia.com/gpu") and n,
        timeout=180,
    )
    labels = node["metadata"]["labels"]
    homelab = platform().env.node(labels["streamforge.io/homelab-node"])
    assert homelab is not None and homelab.gpus is not None
    assert labels["nvidia.com/gpu.count"] == str(homelab.gpus.count)
    assert labels["nvidia.com/gpu.replicas"] == "4"
    assert labels["nvidia.com/gpu.product"] == f"{homelab.gpus.product}-SHARED"
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == str(4 * homelab.gpus.count)


def test_four_pods_share_one_gpu_and_a_fifth_waits(namespace: str) -> None:
    node = gpu_node()["metadata"]["name"]
    for i in range(4):
        pod = gpu_pod(f"gpu-{i}", node)
        pod["metadata"]["namespace"] = namespace
        apply(pod)

    def running() -> list[str] | None:
        pods = json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
        phases = [p["status"].get("phase") for p in pods]
        return phases if phases.count("Running") == 4 else None

    wait_for("four GPU pods running", running, timeout=240)
    devices = set()
    for i in range(4):
        logs = wait_for(
            f"gpu-{i}'s log",
            lambda i=i: kubectl("logs", "-n", namespace, f"gpu-{i}").stdout.strip(),
            timeout=60,
        )
        assert logs.startswith("gpu=GPU-"), logs
        devices.add(logs)
    assert len(devices) == 1, f"the four replicas name one physical GPU: {devices}"
    fifth = gpu_pod("gpu-4", node)
    fifth["metadata"]["namespace"] = namespace
    apply(fifth)
    time.sleep(10)  # give the scheduler time to (not) place it
    status = json.loads(kubectl("get", "pod", "gpu-4", "-n", namespace, "-o", "json").stdout)
    assert status["status"]["phase"] == "Pending"
    reasons = [c.get("reason") for c in status["status"].get("conditions", [])]
    assert "Unschedulable" in reasons
