"""e2e fault injection: break one real thing of the running replica, run `up` again, and check
that it repaired exactly that (the steps it re-ran are in the CI log) and that the replica
answers again. Runs after the other checks and before the lifecycle ones (conftest.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from streamforge.execute import docker_host, registry
from streamforge.model.schema.provider import KindProvider
from streamforge.render import image_refs
from tests.e2e.conftest import kubectl, platform, streamforge, up_args, wait_for
from tests.e2e.test_lifecycle import ALWAYS, steps_that_ran
from tests.e2e.test_replica import answers, planned_ingress_address


def provider() -> KindProvider:
    found = platform().env.provider
    assert isinstance(found, KindProvider)
    return found


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True, text=True)


def helm(*args: str) -> None:
    binary = shutil.which("helm")
    assert binary, "helm is not on PATH"
    context = f"kind-{provider().cluster_name}"
    subprocess.run([binary, "--kube-context", context, *args], check=True, capture_output=True)


def remove_registry() -> None:
    docker("rm", "-f", docker_host.REGISTRY)


def detach_registry() -> None:
    docker("network", "disconnect", "kind", docker_host.REGISTRY)


def restart_a_node() -> None:
    """Restart a worker's container and wait until every pod on it runs again: containers
    started after the restart and Ready (the kubelet reports stale Ready pods at first)."""
    node = f"{provider().cluster_name}-worker"
    restarted = datetime.now(UTC).replace(microsecond=0)
    docker("restart", node)

    def settled() -> bool:
        out = kubectl(
            "get", "pods", "-A", "--field-selector", f"spec.nodeName={node}", "-o", "json"
        )
        if out.returncode != 0:
            return False
        for pod in json.loads(out.stdout)["items"]:
            if pod["status"].get("phase") in ("Succeeded", "Failed"):
                continue
            for status in pod["status"].get("containerStatuses", []):
                started = (status.get("state", {}).get("running") or {}).get("startedAt")
                if not status.get("ready") or not started:
                    return False
                if datetime.fromisoformat(started.replace("Z", "+00:00")) < restarted:
                    return False
        return True

    wait_for(f"the pods of {node} to run again after its restart", settled, timeout=300)


def uninstall_metallb() -> None:
    helm("uninstall", "metallb", "--namespace", "metallb-system", "--wait")


def delete_docs_image() -> None:
    """Remove the docs-site image's tag from the registry's storage (the registry serves no
    DELETE unless configured to)."""
    data = registry.registry_data()
    assert data is not None
    tags = data / "docker/registry/v2/repositories/streamforge/docs-site/_manifests/tags"
    assert tags.is_dir(), tags
    for tag in tags.iterdir():
        shutil.rmtree(tag)


# fault -> the steps that must run again (beyond preflight and summary)
FAULTS: dict[str, tuple[Callable[[], None], set[str]]] = {
    "registry container removed": (remove_registry, {"registry", "registry-wiring"}),
    "registry detached from the kind network": (detach_registry, {"registry-wiring"}),
    "a helm release uninstalled": (uninstall_metallb, {"component:metallb"}),
    "a project image deleted from the registry": (delete_docs_image, {"image:docs-site"}),
    # the node comes back with its containerd config, and its pods restart by themselves:
    # nothing is left to redo, and the replica must answer again
    "a node container restarted": (restart_a_node, set()),
}


def replica_answers() -> None:
    host = f"docs.{platform().env.domain}"
    wait_for(
        f"http://{host} through the Gateway",
        lambda: answers(planned_ingress_address(), 80, host),
        timeout=180,
    )
    ready = kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=180s")
    assert ready.returncode == 0, ready.stderr


@pytest.mark.parametrize("fault", list(FAULTS))
def test_up_repairs_exactly_what_was_broken(
    replica: None, fault: str, report: Callable[[str], None]
) -> None:
    inject, expected = FAULTS[fault]
    inject()
    repaired = streamforge(*up_args())
    assert repaired.returncode == 0, repaired.stdout[-3000:]
    ran = steps_that_ran(repaired.stdout) - ALWAYS
    report(f"e2e fault '{fault}': up re-ran {sorted(ran) or 'nothing'}")
    assert ran == expected, repaired.stdout[-3000:]
    replica_answers()
    again = streamforge(*up_args())
    assert steps_that_ran(again.stdout) <= ALWAYS, again.stdout[-3000:]


def test_a_changed_base_image_rebuilds_and_rolls_every_image_built_from_it(
    replica: None, monkeypatch: pytest.MonkeyPatch, report: Callable[[str], None]
) -> None:
    """The base image changes (here: its parent, as a new python image would): every project
    image gets a new tag, is rebuilt and rolled out; no pod keeps the stale image."""

    parent = image_refs.python_base()
    # a parent reference never used before, so the base built from it is new on every run
    other = f"{parent.rpartition(':')[0]}:e2e-{uuid.uuid4().hex[:8]}"
    docker("tag", parent, other)
    try:
        monkeypatch.setenv("STREAMFORGE_PYTHON_BASE", other)
        # not --offline: a new base image is built with pip from PyPI (`up --offline` refuses
        # before changing anything, as it should)
        changed = streamforge("up")
        assert changed.returncode == 0, changed.stdout[-3000:]
        ran = steps_that_ran(changed.stdout) - ALWAYS
        report(f"e2e fault 'the base image changed': up re-ran {sorted(ran)}")
        images = {s for s in ran if s.startswith("image:")}
        assert {"base-image", "image:docs-site", "service:dummy-service"} <= ran, ran
        assert images == {f"image:{name}" for name in ("docs-site", "fake-gpu-plugin")}, ran
        running = kubectl(
            "get",
            "deployment",
            "-n",
            "docs",
            "docs-site",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ).stdout
        assert running == image_refs.site_image(platform())
        replica_answers()
    finally:
        changed_base = image_refs.base_image(platform().root)
        monkeypatch.setenv("STREAMFORGE_PYTHON_BASE", parent)
        back = streamforge(*up_args())
        docker("rmi", other)
        subprocess.run(["docker", "rmi", changed_base], capture_output=True, check=False)
    assert back.returncode == 0, back.stdout[-3000:]
