"""e2e: on a running replica whose fake GPU node has count=1 and replicas=4, four pods asking for
`nvidia.com/gpu: 1` run and a fifth stays Pending. Skips without a reachable kind cluster or such
a node (the e2e tier cannot run on CI's machine).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from typing import Any

import pytest

# the replica fixture runs `up` once (opt in with STREAMFORGE_E2E=1); only the replica's own
# context is ever used, never whatever context kubectl has current
from tests.e2e.test_replica import CONTEXT, replica  # noqa: F401

pytestmark = pytest.mark.e2e


def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--context", CONTEXT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _gpu_node() -> tuple[str, str]:
    """(node name, a pause image already on it) of a node with exactly 4 nvidia.com/gpu."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    nodes = kubectl("get", "nodes", "-o", "json", "--request-timeout=10s")
    if nodes.returncode != 0:
        pytest.skip(f"no reachable cluster: {nodes.stderr.strip()[-200:]}")
    for node in json.loads(nodes.stdout)["items"]:
        labels = node["metadata"].get("labels", {})
        allocatable = node["status"].get("allocatable", {})
        if allocatable.get("nvidia.com/gpu") == "4" and labels.get("nvidia.com/gpu.count") == "1":
            images = [n for image in node["status"].get("images", []) for n in image["names"]]
            pause = [n for n in images if "/pause:" in n and "@" not in n]
            if pause:
                return node["metadata"]["name"], pause[0]
    pytest.skip("no node with 1 fake GPU x 4 replicas (nvidia.com/gpu allocatable 4)")
    raise AssertionError("unreachable")


def _pod(name: str, namespace: str, node: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": node},
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": "gpu",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "resources": {"limits": {"nvidia.com/gpu": 1}},
                }
            ],
        },
    }


def test_four_pods_share_one_gpu_and_a_fifth_waits(replica: None) -> None:  # noqa: F811
    node, image = _gpu_node()
    namespace = f"gpu-e2e-{uuid.uuid4().hex[:6]}"
    assert kubectl("create", "namespace", namespace).returncode == 0
    try:
        for i in range(5):
            manifest = json.dumps(_pod(f"gpu-{i}", namespace, node, image))
            created = kubectl("apply", "-f", "-", stdin=manifest)
            assert created.returncode == 0, created.stderr
            if i == 3:  # the first four get the four replicas
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)
                    phases = [p["status"].get("phase") for p in pods["items"]]
                    if phases.count("Running") == 4:
                        break
                    time.sleep(1)
                assert phases.count("Running") == 4, phases
        time.sleep(5)  # give the scheduler time to (not) place the fifth
        fifth = json.loads(kubectl("get", "pod", "gpu-4", "-n", namespace, "-o", "json").stdout)
        assert fifth["status"]["phase"] == "Pending"
        reasons = [c.get("reason") for c in fifth["status"].get("conditions", [])]
        assert "Unschedulable" in reasons
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
