"""The common service chart (platform/charts/service) with the real helm binary: lint, render,
Kubernetes and CRD schemas, what the rendered objects give a service, and a static security
scan with checkov."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from streamforge.model.load import Platform, load_platform
from streamforge.model.schema.service import Service
from streamforge.render import image_refs, services
from streamforge.render.context import dump
from tests.conftest import REPO, missing

CHART = REPO / services.CHART
# Checks of checkov's Kubernetes framework the chart fails on purpose, and why.
CHECKOV_SKIPS = {
    # images are tagged with the content hash of the service's folder: immutable in the
    # registry, so a tag pins the image as well as a digest, and IfNotPresent is right for it
    "CKV_K8S_43": "Image should use digest",
    "CKV_K8S_15": "Image Pull Policy should be Always",
}


def _platform(env: str) -> Platform:
    return load_platform(REPO, env)


def _kube_version(platform: Platform) -> str:
    return platform.env.kubernetes_version.lstrip("v")


def _values_file(tmp_path: Path, values: dict[str, Any], name: str = "values.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dump(values))
    return path


def _template(
    helm: list[str], platform: Platform, values: Path, namespace: str = services.NAMESPACE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *helm,
            "template",
            "svc",
            str(CHART),
            "--values",
            str(values),
            "--namespace",
            namespace,
            "--kube-version",
            _kube_version(platform),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _objects(helm: list[str], platform: Platform, values: Path) -> list[dict[str, Any]]:
    result = _template(helm, platform, values)
    assert result.returncode == 0, result.stderr
    return [d for d in YAML(typ="safe").load_all(result.stdout) if d]


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


CASES = [(env, name) for env in ("local", "homelab") for name in sorted(_platform(env).services)]


@pytest.mark.parametrize(("env", "name"), CASES)
def test_lint_strict_passes_for_every_service(
    helm: list[str], tmp_path: Path, env: str, name: str
) -> None:
    platform = _platform(env)
    values = _values_file(tmp_path, services.chart_values(platform, platform.services[name]))
    result = subprocess.run(
        [
            *helm,
            "lint",
            "--strict",
            str(CHART),
            "--values",
            str(values),
            "--namespace",
            services.NAMESPACE,
            "--kube-version",
            _kube_version(platform),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


@pytest.mark.parametrize(("env", "name"), CASES)
def test_rendered_objects_match_kubernetes_and_crd_schemas(
    helm: list[str], tmp_path: Path, env: str, name: str
) -> None:
    try:
        from streamforge.validate.env import DEFAULT_SCHEMAS, SCHEMAS_ENV, resolve_dir
        from streamforge.validate.objects import ObjectChecker, pick_k8s_version
    except ImportError:
        missing("streamforge.validate.env is not in this checkout")
        raise
    from streamforge.errors import StreamforgeError

    platform = _platform(env)
    try:
        schemas = resolve_dir(None, SCHEMAS_ENV, DEFAULT_SCHEMAS, REPO, "schemas")
    except StreamforgeError as exc:
        missing(str(exc))
        raise
    version = pick_k8s_version(platform.env.kubernetes_version)
    assert version is not None
    checker = ObjectChecker(schemas, version)
    values = _values_file(tmp_path, services.chart_values(platform, platform.services[name]))
    objects = _objects(helm, platform, values)
    assert {o["kind"] for o in objects} >= {"Deployment", "Service", "HTTPRoute", "KafkaUser"}
    problems = [
        f"{o['kind']}/{o['metadata']['name']}: {path}: {message}"
        for o in objects
        for path, message in checker.check(o)
    ]
    assert problems == []


def test_dummy_service_gets_route_kafka_user_topics_and_hardening(
    helm: list[str], tmp_path: Path
) -> None:
    platform = _platform("local")
    values = _values_file(
        tmp_path, services.chart_values(platform, platform.services["dummy-service"])
    )
    objects = _objects(helm, platform, values)
    assert {o["metadata"]["namespace"] for o in objects} == {"kafka"}

    (route,) = _by_kind(objects, "HTTPRoute")
    assert route["spec"]["parentRefs"] == [{"name": "streamforge", "namespace": "traefik"}]
    assert route["spec"]["hostnames"] == ["dummy-service.dmz.home"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "dummy-service", "port": 8080}]

    (user,) = _by_kind(objects, "KafkaUser")
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == "k3"
    assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
    acls = {
        (a["resource"]["type"], a["resource"]["name"]): a
        for a in user["spec"]["authorization"]["acls"]
    }
    assert acls[("topic", "dummy-service.events")]["operations"] == ["Read", "Write", "Describe"]
    assert acls[("group", "dummy-service")]["resource"]["patternType"] == "prefix"
    assert acls[("group", "dummy-service")]["operations"] == ["Read"]
    (topic,) = _by_kind(objects, "KafkaTopic")
    assert topic["spec"] == {"topicName": "dummy-service.events", "partitions": 1, "replicas": 1}
    assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "k3"

    (deployment,) = _by_kind(objects, "Deployment")
    assert deployment["metadata"]["annotations"]["reloader.stakater.com/auto"] == "true"
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == image_refs.service_image(platform, "dummy-service")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/tmp"] == "tmp"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    # where streamforge_utils looks for the KafkaUser's secret and the cluster CA
    assert volumes[mounts["/var/run/secrets/streamforge/kafka-user"]]["secret"]["secretName"] == (
        "dummy-service"
    )
    assert volumes[mounts["/var/run/secrets/streamforge/kafka-ca"]]["secret"]["secretName"] == (
        "k3-cluster-ca-cert"
    )
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["SERVICE_NAME"] == "dummy-service"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "k3-kafka-bootstrap.kafka.svc:9093"
    assert container["resources"]["limits"]["memory"] == "256Mi"
    (pdb,) = _by_kind(objects, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1


def test_gpu_volumes_and_node_pin_use_the_envs_names(helm: list[str], tmp_path: Path) -> None:
    platform = _platform("homelab")
    service = Service.model_validate(
        {
            "name": "trainer",
            "description": "GNN training",
            "owner": "ml",
            "gpus": 1,
            "node": "k2w-8",
            "volumes": [
                {"name": "checkpoints", "class": "rwo", "size": "20Gi", "mount": "/data"},
                {"name": "datasets", "class": "rwx", "size": "100Gi", "mount": "/datasets"},
            ],
        }
    )
    values = services.chart_values(platform, service)
    values["image"] = {"repository": "registry.dmz.home/streamforge/trainer", "tag": "abc123"}
    objects = _objects(helm, platform, _values_file(tmp_path, values))
    (deployment,) = _by_kind(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    assert pod["nodeSelector"] == {"streamforge.io/homelab-node": "k2w-8"}
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # an RWO volume
    claims = {c["metadata"]["name"]: c["spec"] for c in _by_kind(objects, "PersistentVolumeClaim")}
    assert claims["trainer-checkpoints"]["storageClassName"] == "linstor"
    assert claims["trainer-checkpoints"]["accessModes"] == ["ReadWriteOnce"]
    assert claims["trainer-datasets"]["storageClassName"] == "nfs-client"
    assert claims["trainer-datasets"]["accessModes"] == ["ReadWriteMany"]
    assert not _by_kind(objects, "KafkaUser")  # no Kafka in its service.yaml


def test_schema_rejects_a_typo_and_a_wrong_namespace(helm: list[str], tmp_path: Path) -> None:
    platform = _platform("local")
    values = services.chart_values(platform, platform.services["dummy-service"])
    typo = _template(helm, platform, _values_file(tmp_path, {**values, "iamge": {}}, "typo.yaml"))
    assert typo.returncode != 0
    assert "additional properties 'iamge' not allowed" in typo.stderr
    wrong = _template(helm, platform, _values_file(tmp_path, values), namespace="apps")
    assert wrong.returncode != 0
    assert 'must be installed into namespace "kafka"' in wrong.stderr


def _checkov() -> str:
    """checkov, pinned in pyproject.toml's `security` extra, in a venv of its own."""
    import tomllib

    pin = next(
        dep
        for dep in tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
            "optional-dependencies"
        ]["security"]
        if dep.startswith("checkov==")
    )
    explicit = os.environ.get("STREAMFORGE_CHECKOV")
    if explicit:
        return explicit
    from streamforge.execute.tools import cache_dir

    home = cache_dir() / "tools" / pin.replace("==", "-")
    binary = home / "bin" / "checkov"
    if not binary.is_file():
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        installed = subprocess.run(
            [str(home / "bin" / "python"), "-m", "pip", "install", "-q", pin],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if installed.returncode != 0:
            missing(f"could not install {pin}: {installed.stderr.strip()[-300:]}")
    return str(binary)


def test_checkov_finds_nothing_but_the_documented_exceptions(
    helm: list[str], tmp_path: Path
) -> None:
    platform = _platform("homelab")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for name in sorted(platform.services):
        values = _values_file(tmp_path, services.chart_values(platform, platform.services[name]))
        result = _template(helm, platform, values)
        assert result.returncode == 0, result.stderr
        (manifests / f"{name}.yaml").write_text(result.stdout)
    scan = subprocess.run(
        [
            _checkov(),
            "--directory",
            str(manifests),
            "--framework",
            "kubernetes",
            "--skip-check",
            ",".join(CHECKOV_SKIPS),
            "--output",
            "json",
            "--quiet",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    report = json.loads(scan.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{f['check_id']} {f['check_name']} ({f['resource']})"
        for r in reports
        for f in r["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    assert sum(r["summary"]["passed"] for r in reports) > 50, scan.stdout[-500:]


def test_vault_option_mounts_the_services_vault_secrets_as_files(
    helm: list[str], tmp_path: Path
) -> None:
    platform = _platform("homelab")
    values = services.chart_values(platform, platform.services["dummy-service"])
    assert values["vault"]["enabled"] is False  # off by default
    objects = _objects(helm, platform, _values_file(tmp_path, values))
    assert not _by_kind(objects, "SecretProviderClass")
    values["vault"]["enabled"] = True
    objects = _objects(helm, platform, _values_file(tmp_path, values, "vault.yaml"))
    (spc,) = _by_kind(objects, "SecretProviderClass")
    assert spc["spec"]["provider"] == "vault"
    params = spc["spec"]["parameters"]
    assert params["roleName"] == "dummy-service"
    assert params["vaultAddress"] == "http://vault.vault.svc:8200"
    (wanted,) = YAML(typ="safe").load(params["objects"])
    assert wanted == {
        "objectName": "api-token",
        "secretPath": "secret/data/dummy-service",
        "secretKey": "api_token",
    }
    (deployment,) = _by_kind(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "vault-secrets"]
    assert volume["csi"]["driver"] == "secrets-store.csi.k8s.io"
    assert volume["csi"]["volumeAttributes"]["secretProviderClass"] == spc["metadata"]["name"]
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["vault-secrets"]["mountPath"] == "/var/run/secrets/streamforge/vault"
    # enabled without secrets: a one-line error from the chart
    values["vault"]["secrets"] = []
    failed = _template(helm, platform, _values_file(tmp_path, values, "empty.yaml"))
    assert failed.returncode != 0 and "vault.secrets" in failed.stderr


def test_chart_works_as_a_dependency_of_another_chart(helm: list[str], tmp_path: Path) -> None:
    """Helm passes a dependency its parent's `global` values; the schema must allow them."""
    import shutil

    platform = _platform("local")
    parent = tmp_path / "parent"
    shutil.copytree(CHART, parent / "charts" / "service")
    (parent / "Chart.yaml").write_text(
        "apiVersion: v2\nname: parent\nversion: 0.1.0\n"
        "dependencies:\n  - name: service\n    version: 0.1.0\n"
    )
    values = services.chart_values(platform, platform.services["dummy-service"])
    parent_values = _values_file(tmp_path, {"global": {"team": "platform"}, "service": values})
    done = subprocess.run(
        [
            *helm,
            "template",
            "app",
            str(parent),
            "--values",
            str(parent_values),
            "--namespace",
            services.NAMESPACE,
            "--kube-version",
            _kube_version(platform),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "kind: Deployment" in done.stdout
