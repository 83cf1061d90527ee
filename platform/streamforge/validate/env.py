"""`streamforge validate`: render envs and check every object and values file against the
schemas of the pinned versions, the stand-in for a real cluster where none can run.

This module stays cheap to import (the CLI imports it to build its parser); the schema
libraries load inside the functions that need them.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamforge import console
from streamforge.errors import StreamforgeError

SCHEMAS_ENV = "STREAMFORGE_SCHEMAS"
CHART_VALUES_ENV = "STREAMFORGE_CHART_VALUES"
# where a checkout next to the shared reference data finds it without flags
DEFAULT_SCHEMAS = Path("..") / "shared" / "schemas"
DEFAULT_CHART_VALUES = Path("..") / "shared" / "reference" / "chart-values"
ARGO_API = "argoproj.io/v1alpha1"
CONTENT = {
    "schemas": "the JSON schemas of the CRDs (crds/<group>/<kind>_<version>.json)",
    "chart-values": "each chart's values.yaml, values.schema.json and Chart.yaml",
}


@dataclass(frozen=True)
class Finding:
    env: str
    subject: str  # "traefik Certificate traefik/wildcard-dmz-home" or "traefik values"
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.env}: {self.subject}: {self.path}: {self.message}"


@dataclass
class Report:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    objects: int = 0
    values: int = 0

    def summary(self) -> str:
        return (
            f"validated {self.objects} object(s) and {self.values} values file(s): "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        )


def resolve_dir(flag: str | None, env_var: str, default: Path, root: Path, what: str) -> Path:
    """Flag, then environment variable, then the default next to the repository."""
    for source, value in ((f"--{what}", flag), (env_var, os.environ.get(env_var))):
        if value:
            path = Path(value).expanduser()
            if not path.is_dir():
                raise StreamforgeError(
                    f"{source}: '{value}' is not a directory; pass an existing one"
                )
            return path
    path = (root / default).resolve()
    if path.is_dir():
        return path
    raise StreamforgeError(
        f"no {what} directory: pass --{what} DIR or set {env_var} "
        f"(the default {root / default} does not exist). It holds {CONTENT[what]} of the "
        "pinned chart versions (component.yaml `chart:`), data kept outside the repository; "
        "docs/validation.md, 'Where the schemas come from', says how to make it"
    )


def object_subject(component: str, obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    kind = obj.get("kind", "?") if isinstance(obj, dict) else "?"
    name = meta.get("name", "?")
    where = f"{meta['namespace']}/{name}" if meta.get("namespace") else name
    return f"{component} {kind} {where}"


def check_application(app: Any) -> list[tuple[str, str]]:
    """What the Application CRD schema cannot say but ArgoCD needs to sync the homelab from
    an empty cluster (ArgoCD docs: "Automated Sync Policy", "Sync Options", "OCI"): the
    sources, a retry policy, namespace labels on a namespace ArgoCD creates only through
    managedNamespaceMetadata, OCI charts in the 3.1 form."""
    issues: list[tuple[str, str]] = []
    if app.get("apiVersion") != ARGO_API or app.get("kind") != "Application":
        issues.append(("apiVersion", f"expected {ARGO_API} Application"))
    spec = app.get("spec") or {}
    for key in ("project", "destination"):
        if not spec.get(key):
            issues.append((f"spec.{key}", "missing"))
    if not spec.get("sources") and not spec.get("source"):
        issues.append(("spec.sources", "missing"))
    sync = spec.get("syncPolicy") or {}
    if not (sync.get("retry") or {}).get("backoff"):
        issues.append(
            (
                "spec.syncPolicy.retry",
                "missing; ArgoCD does not retry a failed sync of the same commit: set a limit "
                "and a backoff",
            )
        )
    options = sync.get("syncOptions") or []
    if sync.get("managedNamespaceMetadata") and "CreateNamespace=true" not in options:
        issues.append(
            (
                "spec.syncPolicy.managedNamespaceMetadata",
                "ignored without the sync option CreateNamespace=true",
            )
        )
    for index, source in enumerate(spec.get("sources") or [spec.get("source") or {}]):
        for key in ("repoURL", "targetRevision"):
            if not source.get(key):
                issues.append((f"spec.sources[{index}].{key}", "missing"))
        repo = str(source.get("repoURL", ""))
        if repo.startswith("oci://") and (source.get("chart") or source.get("path") != "."):
            issues.append(
                (
                    f"spec.sources[{index}]",
                    "an OCI Helm chart is repoURL oci://<registry>/<repo>/<chart> with path '.' "
                    "and no chart (ArgoCD 3.1+)",
                )
            )
    return issues


def check_health_customisation(values: dict[str, Any]) -> list[tuple[str, str]]:
    """ArgoCD judges an Application's health (so an app of apps waits for each sync wave) only
    with the argocd-cm key `resource.customizations.health.argoproj.io_Application` (ArgoCD
    docs, "Sync Phases and Waves"; removed from its defaults in 1.8)."""
    from streamforge.render.argocd import APPLICATION_HEALTH_KEY

    cm = (values.get("configs") or {}).get("cm") or {}
    if "obj.status.health" in str(cm.get(APPLICATION_HEALTH_KEY, "")):
        return []
    return [
        (
            f'configs.cm["{APPLICATION_HEALTH_KEY}"]',
            "missing: ArgoCD would not wait for an Application's health between sync waves; "
            "set it to a Lua check returning obj.status.health",
        )
    ]


def validate_env(
    root: Path, env_name: str, schemas: Path, chart_values: Path, report: Report
) -> None:
    from ruamel.yaml import YAML

    from streamforge.model.load import load_platform
    from streamforge.render import runner_config
    from streamforge.render.context import Facts
    from streamforge.render.env import render
    from streamforge.validate import values as validate_values
    from streamforge.validate.objects import ObjectChecker, pick_k8s_version

    platform = load_platform(root, env_name)
    rendered = render(platform, Facts())
    wanted = platform.env.kubernetes_version
    version = pick_k8s_version(wanted)
    if version is None:
        raise StreamforgeError(
            f"{env_name}: kubernetes_version {wanted} is older than any schema kubernetes-validate "
            "bundles; raise the env's kubernetes_version"
        )
    exact = f"v{version[0]}.{version[1]}" == ".".join(wanted.split(".")[:2])
    report.notes.append(
        f"{env_name}: Kubernetes {wanted}: objects checked against the "
        f"{version[0]}.{version[1]} schemas"
        + ("" if exact else " (the closest version kubernetes-validate bundles)")
    )
    checker = ObjectChecker(schemas, version)
    for component in platform.enabled:
        for obj in rendered.objects.get(component, []):
            report.objects += 1
            for path, message in checker.check(obj):
                report.errors.append(
                    Finding(env_name, object_subject(component, obj), path, message)
                )
        chart = platform.components[component].chart
        if chart is None:
            continue
        if chart.name == runner_config.CHART:
            # not in the offline chart set: its runner config.toml is what can be checked
            for path, message in runner_config.check(rendered.values.get(component, {})):
                report.errors.append(Finding(env_name, f"{component} values", path, message))
        ref = validate_values.reference(chart, chart_values)
        if ref is None:
            report.warnings.append(
                f"{env_name}: {component} values: not checked: no reference files for chart "
                f"{chart.name} {chart.version} in {chart_values} (add "
                f"{chart.name}-{chart.version}.values.yaml there)"
            )
            continue
        report.values += 1
        for path, message in validate_values.check(rendered.values.get(component, {}), ref):
            report.errors.append(Finding(env_name, f"{component} values", path, message))
    gitops = platform.env.gitops
    if gitops is None:
        return
    from streamforge.validate import argocd_schema

    argo = ObjectChecker(argocd_schema.schema_dir(gitops.argocd_version), version)
    report.notes.append(
        f"{env_name}: ArgoCD {gitops.argocd_version}: Applications checked against its "
        "Application CRD"
    )
    if "argocd" in platform.enabled:
        for path, message in check_health_customisation(rendered.values.get("argocd", {})):
            report.errors.append(Finding(env_name, "argocd values", path, message))
    yaml = YAML(typ="safe", pure=True)
    for rel, text in sorted(rendered.files.items()):
        if rel.startswith(("argocd/", "bootstrap/")):
            app = yaml.load(text) or {}
            report.objects += 1
            for path, message in sorted({*argo.check(app), *check_application(app)}):
                report.errors.append(Finding(env_name, f"argocd {rel}", path, message))


def validate(root: Path, env_names: list[str], schemas: Path, chart_values: Path) -> Report:
    report = Report()
    for name in env_names:
        validate_env(root, name, schemas, chart_values, report)
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schemas",
        help=f"CRD schema dir with crds/<group>/ (default ${SCHEMAS_ENV}, then "
        f"{DEFAULT_SCHEMAS} next to the repository)",
    )
    parser.add_argument(
        "--chart-values",
        help=f"chart reference dir (default ${CHART_VALUES_ENV}, then "
        f"{DEFAULT_CHART_VALUES} next to the repository)",
    )


def cli(args: argparse.Namespace) -> None:
    """Entry point of `streamforge validate`; --env takes 'all' or a comma-separated list."""
    from streamforge.model.load import env_names, find_root

    root = find_root()
    known = env_names(root)
    wanted = known if args.env == "all" else [e.strip() for e in args.env.split(",") if e.strip()]
    unknown = [e for e in wanted if e not in known]
    if unknown:
        raise StreamforgeError(
            f"--env: no env named {', '.join(unknown)}; use 'all' or some of: {', '.join(known)}"
        )
    schemas = resolve_dir(args.schemas, SCHEMAS_ENV, DEFAULT_SCHEMAS, root, "schemas")
    chart_values = resolve_dir(
        args.chart_values, CHART_VALUES_ENV, DEFAULT_CHART_VALUES, root, "chart-values"
    )
    console.step(f"validate {', '.join(wanted)} against {schemas} and {chart_values}")
    report = validate(root, wanted, schemas, chart_values)
    for note in report.notes:
        console.info(note)
    for warning in report.warnings:
        console.info(f"warning: {warning}")
    for finding in report.errors:
        console.error(str(finding))
    if report.errors:
        raise StreamforgeError(report.summary())
    console.step(report.summary())
