"""Every failure class and the fix line the user gets for it.

The outputs are what the tools print for each cause (Docker/containerd, helm, kubectl, kind,
kubelet). Where the docker and API tiers can provoke the cause for real, they do so too
(tests/docker/test_failures_cli.py, tests/api/test_drift.py); the host-limit and cgroup v1
messages cannot be provoked on a shared CI machine, so here they are the tools' own words."""

from __future__ import annotations

import subprocess

import pytest

from streamforge.errors import StepError, classify, failure_classes, unexpected

OUTPUTS = {
    "network unreachable": (
        'Error: looks like "http://127.0.0.1:9" is not a valid chart repository or cannot be '
        'reached: Get "http://127.0.0.1:9/index.yaml": dial tcp 127.0.0.1:9: connect: '
        "connection refused"
    ),
    "image not found": (
        "Error response from daemon: manifest for 127.0.0.1:5001/streamforge/nope:1 not found: "
        "manifest unknown: manifest unknown"
    ),
    "chart not found": (
        'Error: chart "traefik" version "99.0.0" not found in http://127.0.0.1:8080 repository'
    ),
    "missing CRD": (
        'error: resource mapping not found for name: "orders" namespace: "kafka" from "STDIN": '
        'no matches for kind "KafkaUser" in version "kafka.strimzi.io/v1"\n'
        "ensure CRDs are installed first"
    ),
    "timeout waiting for readiness": (
        "Error: UPGRADE FAILED: resource Deployment/kafka/strimzi-cluster-operator not ready. "
        "status: InProgress, message: Available: 0/1\ncontext deadline exceeded"
    ),
    "host limits": ("failed to create fsnotify watcher: too many open files"),
    "cgroup v1": (
        'E0101 kubelet.go:1600] "Failed to run kubelet" err="failed to run Kubelet: kubelet is '
        "configured to not run on a host using cgroup v1. cgroup v1 support is unsupported and "
        'will be removed in a future release"'
    ),
}

FIX_WORDS = {
    "network unreachable": "nox -s up -- --offline",
    "image not found": "nox -s prefetch",
    "chart not found": "component.yaml",
    "missing CRD": "kind KafkaUser (kafka.strimzi.io/v1) is not served",
    "timeout waiting for readiness": "get pods -A",
    "host limits": "nox -s doctor",
    "cgroup v1": "systemd.unified_cgroup_hierarchy=1",
}


def test_every_class_has_a_sample() -> None:
    assert set(OUTPUTS) == set(failure_classes()) == set(FIX_WORDS)


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_the_fix_line_fits_the_class(name: str) -> None:
    error = StepError("component:traefik", "helm upgrade --install ...", OUTPUTS[name], "generic")
    assert error.failure is not None and error.failure.name == name
    fix_line = str(error).splitlines()[-1]
    assert fix_line.startswith(f"fix: {name}: ")
    assert FIX_WORDS[name] in fix_line
    # the class's fix replaces the step's fixed hint, which suits no particular cause
    assert "generic" not in fix_line


def test_an_unreachable_chart_repository_is_a_network_problem_not_a_missing_chart() -> None:
    failure = classify(OUTPUTS["network unreachable"])
    assert failure is not None and failure.name == "network unreachable"


def test_an_unknown_output_keeps_the_steps_own_hint() -> None:
    error = StepError("registry-wiring", "docker exec node sh", "exit status 3", "is it running?")
    assert error.failure is None
    assert str(error).splitlines()[-1] == "fix: is it running?"


def test_a_refused_api_server_says_the_cluster_is_not_running() -> None:
    failure = classify(
        "The connection to the server 127.0.0.1:36263 was refused - did you specify the right "
        "host or port?"
    )
    assert failure is not None and failure.name == "network unreachable"
    assert "is the kind cluster running?" in failure.fix


def test_a_command_timeout_is_one_classified_line() -> None:
    text = unexpected(subprocess.TimeoutExpired(["kubectl", "get", "nodes"], 120))
    assert "kubectl get nodes" in text
    assert text.splitlines()[-1].startswith("fix: timeout waiting for readiness: ")


def test_an_unknown_exception_is_reported_as_a_bug_with_how_to_see_more() -> None:
    text = unexpected(KeyError("x"))
    assert text.startswith("KeyError")
    assert "STREAMFORGE_DEBUG=1" in text
