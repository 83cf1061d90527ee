"""The upstream charts of the cluster-lifecycle components (ArgoCD, Piraeus, Reflector, the mail
relay), from the offline chart set in ../shared/charts/, linted and templated with the real helm
binary and each env's rendered values.

These components run only in production, but their values are rendered for both envs (the
replica's context), so a template error that only one env's values trigger shows up here.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from streamforge.model.load import load_platform
from streamforge.render.context import Facts, Templates, dump
from tests.conftest import REPO, missing

CHARTS = REPO.parent / "shared" / "charts"
COMPONENTS = ["argocd", "piraeus", "config-sync", "mail-relay"]
ENVS = ["homelab", "local"]


@cache
def values_of(env: str, name: str) -> dict[str, Any]:
    """The component's values.yaml rendered with `env`'s context (enabled there or not)."""
    platform = load_platform(REPO, env)
    comp = platform.components[name]
    docs = Templates(platform, Facts()).render(
        platform.component_dir(name) / "values.yaml", component=comp
    )
    return docs[0] if docs else {}


def chart_file(name: str) -> Path:
    chart = load_platform(REPO, "homelab").components[name].chart
    assert chart is not None
    path = CHARTS / f"{chart.name}-{chart.version}.tgz"
    if not path.is_file():
        missing(f"the offline chart {path.name} is not in {CHARTS}")
    return path


def run_helm(helm: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*helm, *args], capture_output=True, text=True, check=False)


def write_values(tmp_path: Path, env: str, name: str) -> Path:
    path = tmp_path / f"{env}-{name}.yaml"
    path.write_text(dump(values_of(env, name)))
    return path


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("name", COMPONENTS)
def test_lint_strict_passes(helm: list[str], tmp_path: Path, env: str, name: str) -> None:
    result = run_helm(helm, "lint", "--strict", *chart_args(tmp_path, env, name))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def chart_args(tmp_path: Path, env: str, name: str) -> list[str]:
    """The pinned chart of component `name`, with `env`'s values, namespace and Kubernetes."""
    platform = load_platform(REPO, env)
    return [
        str(chart_file(name)),
        "--values",
        str(write_values(tmp_path, env, name)),
        "--namespace",
        platform.components[name].namespace,
        "--kube-version",
        platform.env.kubernetes_version.lstrip("v"),
    ]


def template(helm: list[str], tmp_path: Path, env: str, name: str) -> list[dict[str, Any]]:
    result = run_helm(helm, "template", name, *chart_args(tmp_path, env, name))
    assert result.returncode == 0, result.stderr
    return [d for d in YAML(typ="safe", pure=True).load_all(result.stdout) if d]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    names = [o["metadata"]["name"] for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind} {name}, the chart made {names}"
    return found[0]


def test_argocd_serves_plain_http_behind_traefik_at_its_host(
    helm: list[str], tmp_path: Path
) -> None:
    objects = template(helm, tmp_path, "homelab", "argocd")
    params = one(objects, "ConfigMap", "argocd-cmd-params-cm")["data"]
    assert params["server.insecure"] == "true"
    assert one(objects, "ConfigMap", "argocd-cm")["data"]["url"] == "https://argocd.dmz.home"
    # the route's backend exists under the name the HTTPRoute uses
    service = one(objects, "Service", "argocd-server")
    assert 80 in [p["port"] for p in service["spec"]["ports"]]
    # the chart leaves argocd-tls-certs-cm to the Reflector mirror
    assert not [o for o in objects if o["metadata"]["name"] == "argocd-tls-certs-cm"]
    assert not [o for o in objects if "dex" in o["metadata"]["name"]]


def test_piraeus_installs_its_crds_with_the_operator(helm: list[str], tmp_path: Path) -> None:
    objects = template(helm, tmp_path, "homelab", "piraeus")
    crds = {o["metadata"]["name"] for o in objects if o["kind"] == "CustomResourceDefinition"}
    assert {"linstorclusters.piraeus.io", "linstorsatelliteconfigurations.piraeus.io"} <= crds


def test_mail_relay_listens_where_the_docs_say(helm: list[str], tmp_path: Path) -> None:
    objects = template(helm, tmp_path, "homelab", "mail-relay")
    service = one(objects, "Service", "mail-relay")
    assert [p["port"] for p in service["spec"]["ports"]] == [587]
    (statefulset,) = [o for o in objects if o["kind"] == "StatefulSet"]
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    refs = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
    assert "mail-relay-upstream" in refs


def test_reflector_runs_without_a_licence(helm: list[str], tmp_path: Path) -> None:
    objects = template(helm, tmp_path, "homelab", "config-sync")
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    env = deployment["spec"]["template"]["spec"]["containers"][0].get("env", [])
    assert not [e for e in env if "licen" in e["name"].lower()]
    rules = [r for o in objects if o["kind"] == "ClusterRole" for r in o.get("rules", [])]
    assert any({"secrets", "configmaps"} <= set(r.get("resources", [])) for r in rules)
