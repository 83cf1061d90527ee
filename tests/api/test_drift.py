"""Drift in the cluster, against a real kube-apiserver (no kubelet: nothing runs, so no
workload ever becomes ready): an applied object deleted, a helm release uninstalled or not
ready, a missing CRD and a readiness timeout with the fix line of their class."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from streamforge.commands.status import incomplete
from streamforge.errors import StepError
from streamforge.execute.executor import execute
from streamforge.execute.executor import verdicts as step_verdicts
from streamforge.execute.helm import helm, release_drift
from streamforge.execute.kube import Kube
from streamforge.execute.tools import resolve
from tests.api.test_replica_converges import component_steps, replica, state_of  # noqa: F401
from tests.conftest import missing

CHART = """apiVersion: v2
name: tiny
version: 0.1.0
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: tiny}
  template:
    metadata:
      labels: {app: tiny}
    spec:
      containers:
        - name: tiny
          image: localhost:5001/streamforge/tiny:1
"""


@pytest.fixture
def tiny_chart(tmp_path: Path) -> Path:
    chart = tmp_path / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "templates" / "deployment.yaml").write_text(DEPLOYMENT)
    return chart


@pytest.fixture
def helm_tool() -> Any:
    if shutil.which("helm") is None:
        missing("no helm on PATH (.ci/go-tools.sh builds it)")
    return resolve("helm", allow_download=False)


def test_an_applied_object_deleted_is_drift_and_only_its_step_repairs_it(replica) -> None:  # noqa: F811
    replica.kube.write_state({})
    execute(component_steps(replica), state_of(replica), replica)
    replica.kube("test", "delete", "storageclass", "linstor", fix="-")

    verdicts = dict(step_verdicts(component_steps(replica), state_of(replica), replica))
    assert verdicts["component:storage-replica"].status == "drifted"
    assert "linstor" in verdicts["component:storage-replica"].reason
    assert verdicts["component:fake-gpu"].status == "done"
    assert "Run `nox -s up`" in str(incomplete(list(verdicts.items())))

    again = execute(component_steps(replica), state_of(replica), replica)
    assert again == {"ran": 1, "unchanged": 2, "drifted": 1}
    assert replica.kube.query("get", "storageclass", "linstor") is not None


def test_a_release_not_ready_or_uninstalled_is_drift(
    replica,  # noqa: F811
    helm_tool: Any,
    tiny_chart: Path,
) -> None:
    kube = replica.kube
    args = ["--namespace", "default", "--kube-context", replica.context]
    helm(helm_tool, "test", ["upgrade", "--install", "tiny", str(tiny_chart), *args], "-")
    # deployed, but (no kubelet here) its Deployment never becomes ready
    assert release_drift(helm_tool, kube, "tiny", "default") == (
        "Deployment default/tiny: 0/1 ready"
    )
    helm(helm_tool, "test", ["uninstall", "tiny", *args], "-")
    assert release_drift(helm_tool, kube, "tiny", "default") == (
        "helm release default/tiny is not installed"
    )


def test_a_readiness_timeout_gets_the_timeout_fix(
    replica,  # noqa: F811
    helm_tool: Any,
    tiny_chart: Path,
) -> None:
    args = ["--namespace", "default", "--kube-context", replica.context]
    with pytest.raises(StepError) as caught:
        helm(
            helm_tool,
            "component:tiny",
            ["upgrade", "--install", "slow", str(tiny_chart), *args, "--wait", "--timeout", "3s"],
            "generic hint",
        )
    assert caught.value.failure is not None
    assert caught.value.failure.name == "timeout waiting for readiness"
    assert str(caught.value).splitlines()[-1].startswith("fix: timeout waiting for readiness")
    subprocess.run([*helm_tool.command, "uninstall", "slow", *args], capture_output=True)


def test_an_object_of_a_missing_crd_gets_the_crd_fix(replica) -> None:  # noqa: F811
    user = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {"name": "orders", "namespace": "default"},
    }
    with pytest.raises(StepError) as caught:
        Kube(resolve("kubectl"), replica.context).apply("deploy", json.dumps(user), timeout=0)
    assert caught.value.failure is not None and caught.value.failure.name == "missing CRD"
    assert "kind KafkaUser (kafka.strimzi.io/v1) is not served" in str(caught.value)


def test_deploy_names_the_missing_component_and_the_command(replica, helm_tool) -> None:  # noqa: F811
    """Before building anything, deploy looks for the components whose APIs the service's
    chart uses: here Strimzi (the KafkaUser of dummy-service) is not installed."""
    from streamforge.commands.deploy import missing_platform
    from tests.conftest import REPO

    root = replica.platform.root
    shutil.copytree(REPO / "platform" / "charts", root / "platform" / "charts")
    replica.tools["helm"] = helm_tool
    replica.kube.write_state({})
    problem = missing_platform(replica, "dummy-service")
    assert problem == (
        "service dummy-service needs component 'strimzi' (API group kafka.strimzi.io), which "
        "is not installed in kind-sf-api-test; install it with `nox -s up`"
    )
