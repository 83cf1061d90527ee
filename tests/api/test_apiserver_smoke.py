"""The `apiserver` fixture gives a working API server: kubectl reaches it through the fixture's
kubeconfig and context, server-side apply works, and a CRD is served once established."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from streamforge.execute.tools import resolve
from streamforge.model.pins import pins
from tests.api.conftest import ApiServer, crd

CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "smoke", "namespace": "default"},
    "data": {"greeting": "hello"},
}
CRD = crd(
    "smoke.streamforge.io",
    "Widget",
    "widgets",
    {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["size"],
                "properties": {"size": {"type": "integer", "minimum": 1}},
            }
        },
    },
)


def run_kubectl(apiserver: ApiServer, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    command = [resolve("kubectl").command[0], "--kubeconfig", str(apiserver.kubeconfig),
               "--context", apiserver.context, *args]  # fmt: skip
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def kubectl(apiserver: ApiServer, *args: str, stdin: str = "") -> str:
    done = run_kubectl(apiserver, *args, stdin=stdin)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def get(apiserver: ApiServer, *args: str) -> dict[str, Any]:
    return json.loads(kubectl(apiserver, "get", *args, "-o", "json"))


def test_server_reports_the_pinned_version(apiserver: ApiServer) -> None:
    assert apiserver.context == "kind-sf-api-test"
    version = json.loads(kubectl(apiserver, "version", "-o", "json"))["serverVersion"]
    assert version["gitVersion"] == pins().test_tools["kube_apiserver"].version


def test_server_side_apply_of_a_configmap(apiserver: ApiServer) -> None:
    kubectl(
        apiserver, "apply", "--server-side", "--field-manager=smoke", "-f", "-",
        stdin=json.dumps(CONFIGMAP),
    )  # fmt: skip
    stored = get(apiserver, "configmap", "-n", "default", "smoke", "--show-managed-fields")
    assert stored["data"] == {"greeting": "hello"}
    managers = {entry["manager"] for entry in stored["metadata"]["managedFields"]}
    assert "smoke" in managers


def test_a_crd_and_a_custom_resource(apiserver: ApiServer) -> None:
    kubectl(apiserver, "apply", "-f", "-", stdin=json.dumps(CRD))
    kubectl(
        apiserver, "wait", "--for=condition=Established", "--timeout=60s",
        "crd/widgets.smoke.streamforge.io",
    )  # fmt: skip
    widget = {
        "apiVersion": "smoke.streamforge.io/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"},
        "spec": {"size": 3},
    }
    kubectl(apiserver, "apply", "--server-side", "-f", "-", stdin=json.dumps(widget))
    assert get(apiserver, "widget", "-n", "default", "w1")["spec"] == {"size": 3}
    # the CRD's schema is enforced by the server
    invalid = {**widget, "metadata": {"name": "w2", "namespace": "default"}, "spec": {"size": 0}}
    rejected = run_kubectl(apiserver, "apply", "-f", "-", stdin=json.dumps(invalid))
    assert rejected.returncode != 0
    assert "spec.size" in rejected.stderr
