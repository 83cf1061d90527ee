"""The rendered kind config: one worker per mirrored homelab node, labelled as that node, and
accepted by kind's own strict v1alpha4 parser (tests/kindcheck, built with Go)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from streamforge.model.load import HOMELAB_NODE_LABEL, load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from tests.conftest import REPO, missing

KINDCHECK = REPO / "tests" / "kindcheck"


@pytest.fixture(scope="module")
def config_text() -> str:
    return render(load_platform(REPO, "local"), Facts()).files["kind-config.yaml"]


@pytest.fixture(scope="module")
def config(config_text: str) -> dict:
    return YAML(typ="safe").load(config_text)


def test_a_worker_per_mirrored_node_labelled_as_it(config: dict) -> None:
    platform = load_platform(REPO, "local")
    workers = [n for n in config["nodes"] if n["role"] == "worker"]
    mirrored = platform.env.provider.mirror_nodes  # type: ignore[union-attr]
    assert [w["labels"][HOMELAB_NODE_LABEL] for w in workers] == mirrored
    assert {"k2w-7", "k2w-9"} <= set(mirrored)
    assert any(platform.env.node(n).gpus for n in mirrored)  # type: ignore[union-attr]
    for worker in workers:
        assert not any("kubernetes.io/" in key for key in worker["labels"])


def test_control_plane_maps_http_and_https(config: dict) -> None:
    (control,) = [n for n in config["nodes"] if n["role"] == "control-plane"]
    ports = {(p["containerPort"], p["hostPort"]) for p in control["extraPortMappings"]}
    assert ports == {(80, 80), (443, 443)}


def test_gpu_node_keeps_its_production_taint(config: dict) -> None:
    gpu = next(n for n in config["nodes"] if n.get("labels", {}).get(HOMELAB_NODE_LABEL) == "k2w-8")
    assert "nvidia.com/gpu" in gpu["kubeadmConfigPatches"][0]


def test_containerd_reads_registry_config_from_certs_d(config: dict) -> None:
    assert 'config_path = "/etc/containerd/certs.d"' in config["containerdConfigPatches"][0]


def test_every_node_mounts_the_rwx_folder(config: dict) -> None:
    assert all(
        n["extraMounts"][0]["containerPath"] == "/var/local/streamforge-rwx"
        for n in config["nodes"]
    )


def kindcheck(path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("go") is None:
        missing("Go is not installed (it builds tests/kindcheck)")
    return subprocess.run(
        ["go", "run", ".", str(path)],
        cwd=KINDCHECK,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_kind_accepts_it(config_text: str, tmp_path: Path) -> None:
    path = tmp_path / "kind-config.yaml"
    path.write_text(config_text)
    done = kindcheck(path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("worker") == 3


def test_kindcheck_rejects_a_misspelt_field(config_text: str, tmp_path: Path) -> None:
    path = tmp_path / "kind-config.yaml"
    path.write_text(config_text.replace("extraPortMappings", "extraPortMapping"))
    done = kindcheck(path)
    assert done.returncode == 1
    assert "extraPortMapping" in done.stderr


def test_a_cgroup_v1_host_gets_the_kubelet_patch_and_a_v2_host_does_not(tmp_path: Path) -> None:
    platform = load_platform(REPO, "local")
    v1_text = render(platform, Facts(cgroup_version=1)).files["kind-config.yaml"]
    v1 = YAML(typ="safe").load(v1_text)
    v2 = YAML(typ="safe").load(render(platform, Facts(cgroup_version=2)).files["kind-config.yaml"])
    (patch,) = v1["kubeadmConfigPatches"]
    assert YAML(typ="safe").load(patch) == {"kind": "KubeletConfiguration", "failCgroupV1": False}
    assert "kubeadmConfigPatches" not in v2
    assert "failCgroupV1" not in render(platform, Facts()).files["kind-config.yaml"]
    path = tmp_path / "kind-config.yaml"
    path.write_text(v1_text)
    done = kindcheck(path)
    assert done.returncode == 0, done.stderr


def test_node_image_override_order(model_copy: Path, edit) -> None:
    pinned = render(load_platform(model_copy, "local"), Facts()).files["kind-config.yaml"]
    assert "kindest/node:v1.36.1@sha256:" in pinned
    edit(
        model_copy / "envs" / "local.yaml",
        "  cluster_name: streamforge\n",
        "  cluster_name: streamforge\n  node_image: streamforge-ci/node:v1.36.1\n",
    )
    platform = load_platform(model_copy, "local")
    from_env = YAML(typ="safe").load(render(platform, Facts()).files["kind-config.yaml"])
    assert {n["image"] for n in from_env["nodes"]} == {"streamforge-ci/node:v1.36.1"}
    # the env var (a fact `up` reads) beats the env file
    facts = Facts(node_image="mirror.example.com/kindest/node:v1.36.1")
    overridden = YAML(typ="safe").load(render(platform, facts).files["kind-config.yaml"])
    assert {n["image"] for n in overridden["nodes"]} == {"mirror.example.com/kindest/node:v1.36.1"}


@pytest.mark.parametrize("command", [["up", "--dry-run"], ["bom"]])
def test_a_bad_node_image_variable_is_one_line_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    from streamforge.commands.cli import main

    monkeypatch.chdir(REPO)
    monkeypatch.setenv("STREAMFORGE_KIND_NODE_IMAGE", "kindest/node v1.36.1")
    assert main([*command, "--env", "local"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: STREAMFORGE_KIND_NODE_IMAGE='kindest/node v1.36.1' is not an image reference; "
        "write registry/name:tag (e.g. streamforge-ci/node:v1.36.1), or unset it"
    ]
