"""The e2e tier: one real `streamforge up` of a kind replica, then what a developer relies on.

Opt in with STREAMFORGE_E2E=1 (`.ci/run` does); STREAMFORGE_E2E_ENV names the env (default
`local`; CI uses `ci`, which leaves out what cannot be built on its machines), and
STREAMFORGE_E2E_OFFLINE=1 runs `up -- --offline`. Once opted in, a missing Docker engine, kind
or kubectl fails under STREAMFORGE_STRICT=1 like every other tier; the only skips left are the
checks of a component the env leaves out, each with the env's reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from streamforge.model.load import Platform, load_platform
from tests.conftest import REPO, docker_available, missing

ENV = os.environ.get("STREAMFORGE_E2E_ENV", "local")
OFFLINE = os.environ.get("STREAMFORGE_E2E_OFFLINE") == "1"
# run last, in this order: faults injected and repaired, then up again, killed up, down
LAST = ("test_faults.py", "test_lifecycle.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: LAST.index(item.path.name) + 1 if item.path.name in LAST else 0)


@cache
def platform() -> Platform:
    return load_platform(REPO, ENV)


def context() -> str:
    provider = platform().env.provider
    assert provider.type == "kind"
    return f"kind-{provider.cluster_name}"


def needs(component: str) -> None:
    """Skip (also under strict mode) where the env leaves `component` out, with its reason."""
    reason = platform().left_out.get(component)
    if reason:
        pytest.skip(f"env '{ENV}' leaves {component} out: {reason}")
    if component not in platform().enabled:
        missing(f"{component} is not enabled in env '{ENV}' (profile {platform().env.profile})")


def gate() -> None:
    if os.environ.get("STREAMFORGE_E2E") != "1":
        missing(
            "the e2e tier creates a kind cluster: set STREAMFORGE_E2E=1", allowed_in_strict=True
        )
    reason = docker_available()
    if reason:
        missing(reason)
    for tool in ("kind", "kubectl"):
        if shutil.which(tool) is None:
            missing(f"{tool} is not on PATH")


def streamforge(
    *args: str, timeout: float = 1800, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would (in the checkout `cwd`); its output goes to the test log as
    it comes, and is kept."""
    command = [sys.executable, "-m", "streamforge.commands.cli", *args, "--env", ENV]
    print(f"\n$ streamforge {' '.join(args)} --env {ENV}", flush=True)
    with subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + timeout
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
            if time.monotonic() > deadline:
                proc.kill()
        code = proc.wait()
    return subprocess.CompletedProcess(command, code, "".join(lines), "")


@pytest.fixture
def report(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Print a line to the CI log even while pytest captures output (what steps re-ran,
    how long a command took)."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def say(text: str) -> None:
        with capture.global_and_fixture_disabled():
            print(f"\n{text}", flush=True)

    return say


def up_args() -> list[str]:
    return ["up", "--offline"] if OFFLINE else ["up"]


@pytest.fixture(scope="session")
def replica(pytestconfig: pytest.Config) -> Iterator[None]:
    """A replica brought up from a clean state by one real `up`."""
    gate()
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # the CI log shows up creating the cluster
        cleaned = streamforge("down")
        assert cleaned.returncode == 0, cleaned.stdout[-3000:]
        started = time.monotonic()
        done = streamforge(*up_args())
        print(f"\ne2e: up from a clean state took {time.monotonic() - started:.0f}s", flush=True)
    assert done.returncode == 0, f"streamforge up failed:\n{done.stdout[-4000:]}"
    yield


def kubectl(
    *args: str, stdin: str | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--context", context(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def apply(*objects: dict[str, Any]) -> None:
    done = kubectl(
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}),
    )
    assert done.returncode == 0, done.stderr


def wait_for(what: str, probe: Any, timeout: float = 300, every: float = 3) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def pod_finished(namespace: str, name: str) -> str | None:
    out = kubectl("get", "pod", "-n", namespace, name, "-o", "jsonpath={.status.phase}")
    return out.stdout if out.stdout in ("Succeeded", "Failed") else None


def run_pod(namespace: str, name: str, spec: dict[str, Any], timeout: float = 300) -> str:
    """Run a one-shot pod to completion; return its log (fails the test if it failed)."""
    apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"restartPolicy": "Never", **spec},
        }
    )
    phase = wait_for(f"pod {namespace}/{name}", lambda: pod_finished(namespace, name), timeout)
    logs = kubectl("logs", "-n", namespace, name).stdout
    if phase != "Succeeded":
        described = kubectl("describe", "pod", "-n", namespace, name).stdout
        pytest.fail(f"pod {name} {phase}:\n{logs}\n{described[-2000:]}")
    return logs


@pytest.fixture
def namespace(replica: None) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    assert kubectl("create", "namespace", name).returncode == 0
    yield name
    kubectl("delete", "namespace", name, "--wait=false")
