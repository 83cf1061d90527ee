"""The parity report lists where the kind replica differs from the homelab."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from streamforge.render.parity import parity_markdown


def component_row(report: str, name: str) -> str:
    return next(line for line in report.splitlines() if line.startswith(f"| {name} |"))


def test_replica_and_production_only_components(model_copy: Path) -> None:
    report = parity_markdown(model_copy)
    assert "| local only |" in component_row(report, "storage-replica")
    assert "| local only |" in component_row(report, "fake-gpu")
    assert "| homelab only |" in component_row(report, "nfs-provisioner")
    assert "| homelab only |" in component_row(report, "gpu-operator")
    # the description says what the stub stands for
    assert "Only in local: Storage stubs" in report


def test_addresses_nodes_and_kafka_replicas(model_copy: Path) -> None:
    report = parity_markdown(model_copy)
    ingress = component_row(report, "ingress address (Traefik)")
    assert "`192.168.1.153`" in ingress and "auto, from the kind network" in ingress
    assert "Production has 3 control plane(s)" in report
    assert "1 kind control plane" in report
    assert "| KafkaNodePool kafka/dual-role | spec.replicas | `3` | `1` |" in report


def test_report_is_deterministic_and_follows_overrides(
    model_copy: Path, edit: Callable[[Path, str, str], None]
) -> None:
    before = parity_markdown(model_copy)
    assert parity_markdown(model_copy) == before
    edit(model_copy / "envs/local.yaml", "ingress_address: auto", "ingress_address: 172.18.255.210")
    after = parity_markdown(model_copy)
    assert after != before
    assert "`172.18.255.210`" in component_row(after, "ingress address (Traefik)")


def test_render_of_the_replica_writes_parity_md(model_copy: Path) -> None:
    out = model_copy / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streamforge.commands.cli",
            "render",
            "--env",
            "local",
            "-o",
            str(out),
        ],
        cwd=model_copy,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "parity.md").read_text() == parity_markdown(model_copy)


def test_lifecycle_systems_and_every_dns_record_have_a_replica_treatment(model_copy: Path) -> None:
    report = parity_markdown(model_copy)
    assert "kube-vip | API at `192.168.1.140`" in report
    assert "| Kubespray | `kubespray/inventory/` (7 hosts" in report
    assert "Technitium `k8s-api.dmz.home` | A `192.168.1.140` | CoreDNS rewrite to " in report
    assert "Technitium `nfs.dmz.home` | A `192.168.1.6` | not served" in report
    for name in ("argocd", "piraeus", "gitlab-runner", "config-sync", "mail-relay"):
        assert "| homelab only |" in component_row(report, name)
