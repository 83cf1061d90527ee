"""up's cluster-side steps against a real kube-apiserver (no kubelet: objects are stored and
validated by the API server, nothing runs). Covers what a second `up` and an interrupted `up`
must do: record each step's hash in the cluster, skip what is done, redo only what changed,
and resume after a failure. Components installed here are the manifest-only ones (charts
cannot be pulled where no chart repository is reachable)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from streamforge.errors import StepError
from streamforge.execute.drivers import Drivers
from streamforge.execute.executor import execute
from streamforge.execute.kube import STATE_CONFIGMAP, Kube
from streamforge.execute.tools import resolve
from streamforge.model.load import load_platform
from streamforge.plan.steps import State, Step
from streamforge.plan.up import plan_up
from streamforge.render.env import render
from tests.api.conftest import crd
from tests.conftest import copy_model

CLUSTER = "sf-api-test"  # the fixture's context is kind-<this>
MANIFEST_ONLY = ("storage-replica", "fake-gpu", "dns-replica")


@pytest.fixture
def replica(apiserver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Drivers:
    root = copy_model(tmp_path / "repo", "platform/fake_gpu")
    local = root / "envs" / "local.yaml"
    local.write_text(
        local.read_text().replace("cluster_name: streamforge", f"cluster_name: {CLUSTER}")
    )
    monkeypatch.setenv("KUBECONFIG", str(apiserver.kubeconfig))
    monkeypatch.chdir(root)
    built = Drivers(load_platform(root, "local"))
    assert built.context == apiserver.context
    return built


def component_steps(replica: Drivers) -> list[Step]:
    wanted = {f"component:{name}" for name in MANIFEST_ONLY}
    steps = plan_up(replica.platform, render(replica.platform))
    return [step for step in steps if step.name in wanted]


def state_of(replica: Drivers) -> State:
    return State(replica.kube.read_state() or {}, save=replica.kube.write_state)


def kubectl_json(replica: Drivers, *args: str) -> dict[str, Any]:
    out = replica.kube.query(*args, "-o", "json")
    assert out is not None, args
    return json.loads(out)


def forget_state(replica: Drivers) -> None:
    """As on a cluster StreamForge did not create: no state ConfigMap."""
    replica.kube(
        "reset",
        "delete",
        "configmap",
        "-n",
        "kube-system",
        STATE_CONFIGMAP,
        "--ignore-not-found",
        fix="-",
    )


def test_no_marker_means_not_ours_until_written(replica: Drivers) -> None:
    forget_state(replica)
    assert replica.kube.read_state() is None
    replica.kube.write_state({})
    assert replica.kube.read_state() == {}


def test_second_run_is_a_no_op_and_a_change_reruns_only_its_step(replica: Drivers) -> None:
    replica.kube.write_state({})
    first = execute(component_steps(replica), state_of(replica), replica)
    assert first == {"ran": 3, "unchanged": 0, "drifted": 0}
    recorded = replica.kube.read_state() or {}
    assert set(recorded) == {f"component:{n}" for n in MANIFEST_ONLY}
    # what the steps applied is really in the cluster
    classes = {i["metadata"]["name"] for i in kubectl_json(replica, "get", "storageclass")["items"]}
    assert {"linstor", "nfs-client"} <= classes
    corefile = kubectl_json(replica, "get", "configmap", "-n", "kube-system", "coredns")
    assert "dmz\\.home" in corefile["data"]["Corefile"]
    kubectl_json(replica, "get", "daemonset", "-n", "gpu-operator", "fake-gpu-plugin-k2w-8")

    second = execute(component_steps(replica), state_of(replica), replica)
    assert second == {"ran": 0, "unchanged": 3, "drifted": 0}

    # change one manifest: only that component's step runs again
    classes_file = replica.platform.component_dir("storage-replica") / "manifests/classes.yaml"
    classes_file.write_text(
        classes_file.read_text().replace("reclaimPolicy: Delete", "reclaimPolicy: Retain", 1)
    )
    changed = Drivers(load_platform(replica.platform.root, "local"))
    third = execute(component_steps(changed), state_of(changed), changed)
    assert third == {"ran": 1, "unchanged": 2, "drifted": 0}
    policies = {
        i["metadata"]["name"]: i["reclaimPolicy"]
        for i in kubectl_json(changed, "get", "storageclass")["items"]
    }
    assert policies["linstor"] == "Retain"


def test_an_interrupted_run_resumes_at_the_failed_step(replica: Drivers) -> None:
    forget_state(replica)
    replica.kube.write_state({})
    broken = replica.platform.component_dir("fake-gpu") / "manifests" / "zz-broken.yaml"
    broken.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\n"
        "  namespace: gpu-operator\n"
    )
    failing = Drivers(load_platform(replica.platform.root, "local"))
    with pytest.raises(StepError) as caught:
        execute(component_steps(failing), state_of(failing), failing)
    assert "component:fake-gpu" in str(caught.value)
    # components run in dependency order: dns-replica, then fake-gpu (failed), storage-replica
    assert [s.name for s in component_steps(failing)] == [
        "component:dns-replica",
        "component:fake-gpu",
        "component:storage-replica",
    ]
    assert set(failing.kube.read_state() or {}) == {"component:dns-replica"}

    broken.unlink()
    fixed = Drivers(load_platform(replica.platform.root, "local"))
    resumed = execute(component_steps(fixed), state_of(fixed), fixed)
    assert resumed == {"ran": 2, "unchanged": 1, "drifted": 0}
    assert set(fixed.kube.read_state() or {}) == {f"component:{n}" for n in MANIFEST_ONLY}


def test_apply_waits_for_a_crd_that_arrives_later(replica: Drivers, tmp_path: Path) -> None:
    """The retry that carries MetalLB's pools past its webhook start-up: an object whose kind
    the API does not know yet is retried until the kind appears."""
    kubectl = resolve("kubectl").command[0]
    late = crd(
        "late.streamforge.io",
        "Pool",
        "pools",
        {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    )
    path = tmp_path / "crd.json"
    path.write_text(json.dumps(late))

    def create_crd_later() -> None:
        time.sleep(3)
        subprocess.run(
            [kubectl, "--context", replica.context, "apply", "-f", str(path)],
            check=True,
            capture_output=True,
        )

    thread = threading.Thread(target=create_crd_later)
    thread.start()
    pool = {
        "apiVersion": "late.streamforge.io/v1",
        "kind": "Pool",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"size": 1},
    }
    Kube(resolve("kubectl"), replica.context).apply("test", json.dumps(pool), timeout=60)
    thread.join()
    assert kubectl_json(replica, "get", "pool.late.streamforge.io", "-n", "default", "p")
