"""e2e, run after every other e2e check (tests/e2e/conftest.py orders them): a second `up`
changes nothing, an `up` killed during a component step converges on the next run, and `down`
removes the replica while a foreign kind cluster (made with pytest-kind) keeps running.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_kind import KindCluster  # type: ignore[import-untyped]

from streamforge.execute import docker_host, registry
from streamforge.execute.kube import STATE_CONFIGMAP, STATE_NAMESPACE
from streamforge.model.pins import pins
from tests.conftest import copy_model
from tests.e2e.conftest import ENV, REPO, kubectl, platform, streamforge, up_args

# steps that run on every `up` by design: they change nothing (checks and the summary)
ALWAYS = {"preflight", "summary"}
KILLED_STEP = "component:metallb"  # a helm release: killed helm leaves it pending


def steps_that_ran(output: str) -> set[str]:
    """The names of the steps `up` reports as done (console.done lines)."""
    return set(re.findall(r"^\s+done (\S+) \(", output, re.M))


def recorded() -> dict[str, str]:
    out = kubectl("get", "configmap", "-n", STATE_NAMESPACE, STATE_CONFIGMAP, "-o", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["data"]


def test_a_second_up_changes_nothing(replica: None, report: Callable[[str], None]) -> None:
    started = time.monotonic()
    again = streamforge(*up_args())
    took = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-3000:]
    assert steps_that_ran(again.stdout) <= ALWAYS, again.stdout[-3000:]
    report(f"e2e: warm up (nothing changed) took {took:.1f}s")


def test_a_changed_kind_config_stops_up_with_the_difference_and_the_fix(
    replica: None, tmp_path: Path
) -> None:
    """kind cannot add a node to a running cluster: `up` from a checkout whose env mirrors one
    homelab node fewer stops before changing anything, says what differs and how to recreate."""
    root = copy_model(tmp_path / "repo")
    local = root / "envs" / "local.yaml"
    text = local.read_text()
    assert "mirror_nodes: [k2w-7, k2w-8, k2w-9]" in text
    local.write_text(text.replace("[k2w-7, k2w-8, k2w-9]", "[k2w-7, k2w-8]"))
    before = recorded()
    stopped = streamforge("up", cwd=root)
    assert stopped.returncode == 1, stopped.stdout[-3000:]
    said = [line for line in stopped.stdout.splitlines() if "another kind config" in line]
    assert len(said) == 1, stopped.stdout[-3000:]
    message = said[0]
    assert "nodes: control-plane, k2w-7, k2w-8, k2w-9 -> control-plane, k2w-7, k2w-8" in message
    assert "`nox -s down && nox -s up`" in message
    assert recorded() == before


def wait_for_helm(session: int, timeout: float = 30) -> None:
    """Until a `helm upgrade` runs in the process session `session` (pgrep, from procps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["pgrep", "-s", str(session), "-f", "helm upgrade"], capture_output=True, check=False
        )
        if found.returncode == 0:
            time.sleep(0.5)  # let it start applying
            return
        time.sleep(0.1)
    pytest.fail("no helm upgrade started within 30s of the step")


def test_an_up_killed_during_a_component_step_converges(replica: None) -> None:
    key = KILLED_STEP.replace(":", ".", 1)
    before = recorded()
    assert key in before
    # forget the step, as if an earlier up had died before recording it; then kill an up
    # (its whole process group, as Ctrl-C on a terminal would reach) while it runs that step
    patch = json.dumps([{"op": "remove", "path": f"/data/{key}"}])
    removed = kubectl(
        "patch", "configmap", "-n", STATE_NAMESPACE, STATE_CONFIGMAP, "--type=json", "-p", patch
    )
    assert removed.returncode == 0, removed.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamforge.commands.cli", *up_args(), "--env", ENV],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    # the step's progress line: `==> [cluster k/N] metallb (helm metallb ...)`
    title = "] metallb ("
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if title in line:  # the step has started; kill it once helm is at work
            wait_for_helm(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)[-3000:]
    assert key not in recorded(), "the killed step must not be recorded as done"

    converged = streamforge(*up_args())
    assert converged.returncode == 0, converged.stdout[-3000:]
    assert KILLED_STEP in steps_that_ran(converged.stdout)
    assert steps_that_ran(converged.stdout) <= ALWAYS | {KILLED_STEP}
    assert recorded() == before
    rollout = kubectl(
        "rollout",
        "status",
        "-n",
        "metallb-system",
        "deployment/metallb-controller",
        "--timeout=120s",
    )
    assert rollout.returncode == 0, rollout.stderr


def node_image() -> str:
    return docker_host.node_image_override() or pins().images["kind_node"]


def test_down_removes_the_replica_and_leaves_a_foreign_cluster(
    replica: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: Callable[[str], None]
) -> None:
    monkeypatch.chdir(tmp_path)  # pytest-kind keeps its kubeconfig under the working directory
    kind, kubectl_bin = shutil.which("kind"), shutil.which("kubectl")
    assert kind and kubectl_bin
    config = tmp_path / "foreign.yaml"
    config.write_text(
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
        + (
            'kubeadmConfigPatches:\n- "kind: KubeletConfiguration\\nfailCgroupV1: false"\n'
            if docker_host.cgroup_version() == 1
            else ""
        )
    )
    foreign = KindCluster(
        "sf-e2e-foreign", image=node_image(), kind_path=Path(kind), kubectl_path=Path(kubectl_bin)
    )
    foreign.create(config)
    try:
        provider = platform().env.provider
        assert provider.type == "kind"
        started = time.monotonic()
        down = streamforge("down")
        report(f"e2e: down took {time.monotonic() - started:.1f}s")
        assert down.returncode == 0, down.stdout[-3000:]
        clusters = subprocess.run(
            [kind, "get", "clusters"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert provider.cluster_name not in clusters
        assert "sf-e2e-foreign" in clusters
        assert not registry.registry_running()
        # nothing the project created is left: no node or registry container, stopped or not
        left = subprocess.run(
            ["docker", "ps", "-a", "--format", "{{.Names}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        ours = [n for n in left if n.startswith(f"{provider.cluster_name}-")]
        assert ours == [] and docker_host.REGISTRY not in left, left
        assert "sf-e2e-foreign-control-plane" in left
        nodes = foreign.kubectl("get", "nodes", "-o", "name")
        assert "sf-e2e-foreign-control-plane" in nodes
    finally:
        foreign.delete()
