"""The components of the seed's data, observability and security chapters with their real
upstream charts (from ../shared/charts/, the pinned versions): `helm lint --strict` and
`helm template` with each env's rendered values, and every custom resource the charts and our
manifests render checked against the pinned CRD schemas."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from streamforge.model.load import load_platform
from streamforge.render.context import Facts, Rendered, dump
from streamforge.render.env import render
from streamforge.validate.objects import ObjectChecker, pick_k8s_version
from tests.conftest import REPO, missing

SHARED = REPO.parent / "shared"
if not SHARED.is_dir():
    SHARED = Path("/work/shared")
CHARTS = SHARED / "charts"
SCHEMAS = SHARED / "schemas"
# component -> the chart archive its pin names
NEW = {
    "postgres-operator": "postgres-operator-1.15.0",
    "arangodb": "kube-arangodb-1.3.1",
    "minio-operator": "operator-7.1.1",
    "minio-tenant": "tenant-7.1.1",
    "eck-operator": "eck-operator-3.2.0",
    "elastic-stack": "eck-stack-0.17.0",
    "fluent-bit": "fluent-bit-0.54.0",
    "vault": "vault-0.31.0",
    "secrets-store-csi-driver": "secrets-store-csi-driver-1.5.4",
    "keycloak": "keycloakx-7.1.4",
    "kube-prometheus-stack": "kube-prometheus-stack-71.1.0",
}
CASES = [(env, name) for env in ("homelab", "local") for name in sorted(NEW)]


@cache
def rendered(env: str) -> Rendered:
    return render(load_platform(REPO, env, "full"), Facts())


def test_every_new_component_pins_the_chart_in_shared_charts() -> None:
    platform = load_platform(REPO, "homelab")
    for name, archive in NEW.items():
        chart = platform.components[name].chart
        assert chart is not None
        assert f"{chart.name}-{chart.version}" == archive, name
        assert name in platform.enabled, f"{name} has no Application in the homelab"


@pytest.mark.parametrize(("env", "name"), CASES)
def test_chart_lints_and_templates_with_the_env_values(
    env: str, name: str, helm: list[str], tmp_path: Path
) -> None:
    out = rendered(env)
    if name not in out.values:
        platform = load_platform(REPO, env, "full")
        comp = platform.components[name]
        # not run in this env: the parity page must say why
        assert comp.replica is not None and comp.replica.reason, name
        return
    archive = CHARTS / f"{NEW[name]}.tgz"
    if not archive.is_file():
        missing(f"no upstream chart at {archive}")
    values = tmp_path / "values.yaml"
    values.write_text(dump(out.values[name]))
    platform = load_platform(REPO, env, "full")
    namespace = platform.components[name].namespace
    kube = platform.env.kubernetes_version
    lint = subprocess.run(
        [*helm, "lint", "--strict", str(archive), "-f", str(values), "--namespace", namespace,
         "--kube-version", kube],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    template = subprocess.run(
        [*helm, "template", name, str(archive), "-f", str(values), "--namespace", namespace,
         "--kube-version", kube],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert template.returncode == 0, template.stderr
    objects = [o for o in yaml.safe_load_all(template.stdout) if isinstance(o, dict)]
    assert objects
    assert_custom_resources_valid(env, objects)


def assert_custom_resources_valid(env: str, objects: list[dict[str, Any]]) -> None:
    if not (SCHEMAS / "crds").is_dir():
        missing(f"no CRD schemas at {SCHEMAS}")
    version = pick_k8s_version(load_platform(REPO, env).env.kubernetes_version)
    assert version is not None
    checker = ObjectChecker(SCHEMAS, version)
    for obj in objects:
        group = obj.get("apiVersion", "").rpartition("/")[0]
        kind = obj.get("kind", "").lower()
        version_part = obj.get("apiVersion", "").rpartition("/")[2]
        if group and (SCHEMAS / "crds" / group / f"{kind}_{version_part}.json").is_file():
            issues = list(checker.check(obj))
            assert not issues, f"{obj['kind']} {obj['metadata']['name']}: {issues[:3]}"
