"""`streamforge validate`: rendered objects and values against the pinned schemas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamforge.model.schema.component import Chart
from streamforge.validate.env import validate
from streamforge.validate.values import check, reference
from tests.conftest import REPO, missing

SHARED = REPO.parent / "shared"
SCHEMAS = SHARED / "schemas"
CHART_VALUES = SHARED / "reference" / "chart-values"


@pytest.fixture
def shared() -> tuple[Path, Path]:
    if not (SCHEMAS / "crds").is_dir() or not CHART_VALUES.is_dir():
        missing(f"the shared schema data is not at {SHARED}")
    return SCHEMAS, CHART_VALUES


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("STREAMFORGE_SCHEMAS", "STREAMFORGE_CHART_VALUES")
    }
    return subprocess.run(
        [sys.executable, "-m", "streamforge.commands.cli", "validate", *args],
        cwd=cwd,
        env={**clean, **(env or {}), "COLUMNS": "400"},
        capture_output=True,
        text=True,
        check=False,
    )


def errors_of(root: Path, shared: tuple[Path, Path], env: str = "local") -> list[str]:
    return [str(f) for f in validate(root, [env], *shared).errors]


def add_manifest(root: Path, component: str, text: str) -> None:
    (root / "platform/components" / component / "manifests").mkdir(exist_ok=True)
    (root / "platform/components" / component / "manifests/zz-test.yaml").write_text(text)


def append_values(root: Path, component: str, text: str) -> None:
    path = root / "platform/components" / component / "values.yaml"
    old = path.read_text() if path.is_file() else ""
    path.write_text(old.rstrip("\n") + "\n" + text if old.strip() else text)


def test_both_envs_pass_with_the_shared_schemas(shared: tuple[Path, Path]) -> None:
    result = run_cli(REPO, "--schemas", str(shared[0]), "--chart-values", str(shared[1]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "homelab: Kubernetes" in result.stdout and "local: Kubernetes" in result.stdout
    assert "0 error(s)" in result.stdout


def test_misspelt_field_in_a_custom_resource_names_object_and_field(
    model_copy: Path, shared: tuple[Path, Path]
) -> None:
    add_manifest(
        model_copy,
        "metallb",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n"
        "metadata: {name: typo-pool, namespace: metallb-system}\n"
        "spec:\n  adresses: [10.0.0.1-10.0.0.2]\n",
    )
    errors = errors_of(model_copy, shared)
    assert any(
        "metallb IPAddressPool metallb-system/typo-pool: spec.adresses: unknown field" in e
        and "did you mean 'addresses'" in e
        for e in errors
    ), errors


def test_misspelt_metadata_and_builtin_fields_fail(
    model_copy: Path, shared: tuple[Path, Path]
) -> None:
    add_manifest(
        model_copy,
        "metallb",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: metallb-system}\n"
        "dta: {a: b}\n---\n"
        "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
        "metadata: {name: l2, namespace: metallb-system, lables: {a: b}}\n",
    )
    errors = errors_of(model_copy, shared)
    assert any("ConfigMap metallb-system/cm: dta: unknown field" in e for e in errors), errors
    assert any("L2Advertisement metallb-system/l2: metadata.lables: unknown" in e for e in errors)


def test_wrong_type_and_unknown_kind_fail(model_copy: Path, shared: tuple[Path, Path]) -> None:
    add_manifest(
        model_copy,
        "metallb",
        "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\n"
        "metadata: {name: p, namespace: metallb-system}\n"
        "spec: {addresses: [10.0.0.1/32], autoAssign: 'yes'}\n---\n"
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
    )
    errors = errors_of(model_copy, shared)
    assert any(
        "IPAddressPool metallb-system/p: spec.autoAssign:" in e and "boolean" in e for e in errors
    )
    assert any(
        "metallb Widget w: apiVersion: no schema for example.com/v1 Widget" in e for e in errors
    ), errors


def test_misspelt_values_key_fails_for_a_chart_with_a_schema(
    model_copy: Path, shared: tuple[Path, Path]
) -> None:
    append_values(model_copy, "cert-manager", "replicaCountt: 2\n")
    result = run_cli(
        model_copy,
        "--env",
        "local",
        env={"STREAMFORGE_SCHEMAS": str(shared[0]), "STREAMFORGE_CHART_VALUES": str(shared[1])},
    )
    assert result.returncode != 0
    assert "local: cert-manager values: replicaCountt: unknown key" in result.stderr
    assert "did you mean 'replicaCount'" in result.stderr
    assert "error(s)" in result.stderr


def test_misspelt_values_key_fails_for_a_chart_without_a_schema(
    model_copy: Path, shared: tuple[Path, Path]
) -> None:
    append_values(model_copy, "strimzi", "watchAnyNamespacee: true\n")
    errors = errors_of(model_copy, shared, "homelab")
    assert any(
        e.startswith("homelab: strimzi values: watchAnyNamespacee: unknown key (did you mean")
        and "chart strimzi-kafka-operator 0.49.1 documents:" in e
        for e in errors
    ), errors


def test_nested_keys_free_form_maps_and_collections(shared: tuple[Path, Path]) -> None:
    nginx = reference(Chart(repo="https://x", name="ingress-nginx", version="4.12.1"), shared[1])
    assert nginx is not None
    problems = dict(
        check(
            {
                "controller": {
                    "replicaCountt": 2,  # typo
                    "podAnnotations": {"anything": "goes"},  # free-form by name
                    "nodeSelector": {"streamforge.io/pool": "ci"},
                    "admissionWebhooks": {"enabled": "false"},  # a string where a bool is
                }
            },
            nginx,
        )
    )
    assert set(problems) == {"controller.replicaCountt", "controller.admissionWebhooks.enabled"}
    assert "did you mean 'replicaCount'" in problems["controller.replicaCountt"]
    assert "expected true or false" in problems["controller.admissionWebhooks.enabled"]

    traefik = reference(Chart(repo="https://x", name="traefik", version="36.1.0"), shared[1])
    assert traefik is not None
    problems = dict(
        check(
            {
                "ports": {
                    "websecure": {"tls": {"enabeld": True}},
                    "kafka": {"port": 9094, "protocol": "TCP"},  # a new named entry is fine
                }
            },
            traefik,
        )
    )
    assert list(problems) == ["ports.websecure.tls.enabeld"]
    assert problems["ports.websecure.tls.enabeld"].startswith(
        "unknown key (did you mean 'enabled'? chart traefik 36.1.0 documents:"
    )


def test_wrong_type_in_values_fails_against_the_chart_schema(shared: tuple[Path, Path]) -> None:
    ref = reference(Chart(repo="https://x", name="cert-manager", version="v1.18.4"), shared[1])
    assert ref is not None and ref.schema is not None
    problems = dict(check({"replicaCount": "two", "crds": {"enabled": True}}, ref))
    assert list(problems) == ["replicaCount"]
    assert "'two'" in problems["replicaCount"]


def test_chart_without_reference_files_warns(
    model_copy: Path, shared: tuple[Path, Path], edit
) -> None:
    edit(model_copy / "platform/components/reloader/component.yaml", "2.2.5", "9.9.9")
    report = validate(model_copy, ["local"], *shared)
    assert any("reloader values: not checked" in w and "9.9.9" in w for w in report.warnings)


def test_missing_schema_dirs_tell_the_user_what_to_pass(model_copy: Path) -> None:
    result = run_cli(model_copy)
    assert result.returncode != 0
    assert "pass --schemas DIR or set STREAMFORGE_SCHEMAS" in result.stderr
    # a clone elsewhere learns what the folder is and where it comes from
    assert "the JSON schemas of the CRDs" in result.stderr
    assert "docs/validation.md, 'Where the schemas come from'" in result.stderr
    result = run_cli(model_copy, "--env", "nope", "--schemas", ".")
    assert result.returncode != 0 and "no env named nope" in result.stderr
