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
from typing import TYPE_CHECKING, Any

from streamforge import console
from streamforge.errors import StreamforgeError

if TYPE_CHECKING:
    from streamforge.model.load import Platform
    from streamforge.render.context import Rendered
    from streamforge.validate.objects import ObjectChecker

SCHEMAS_ENV = "STREAMFORGE_SCHEMAS"
CHART_VALUES_ENV = "STREAMFORGE_CHART_VALUES"
# where a checkout next to the shared reference data finds it without flags
DEFAULT_SCHEMAS = Path("..") / "shared" / "schemas"
DEFAULT_CHART_VALUES = Path("..") / "shared" / "reference" / "chart-values"
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


def _schema_version(env_name: str, wanted: str, report: Report) -> tuple[int, int]:
    """The Kubernetes schema version the objects of an env on Kubernetes `wanted` are checked
    against (noted in `report`); an error when kubernetes-validate bundles none that old."""
    from streamforge.validate.objects import pick_k8s_version

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
    return version


def _check_component(
    platform: Platform,
    rendered: Rendered,
    component: str,
    checker: ObjectChecker,
    chart_values: Path,
    report: Report,
) -> None:
    """One enabled component: its objects against the schemas, its chart's values against the
    chart's reference files in `chart_values` (a warning when there are none)."""
    from streamforge.render import runner_config
    from streamforge.validate import values as validate_values

    env_name = platform.env.name
    for obj in rendered.objects.get(component, []):
        report.objects += 1
        for path, message in checker.check(obj):
            report.errors.append(Finding(env_name, object_subject(component, obj), path, message))
    chart = platform.components[component].chart
    if chart is None:
        return
    values = rendered.values.get(component, {})
    if chart.name == runner_config.CHART:
        # not in the offline chart set: its runner config.toml is what can be checked
        for path, message in runner_config.check(values):
            report.errors.append(Finding(env_name, f"{component} values", path, message))
    ref = validate_values.reference(chart, chart_values)
    if ref is None:
        report.warnings.append(
            f"{env_name}: {component} values: not checked: no reference files for chart "
            f"{chart.name} {chart.version} in {chart_values} (add "
            f"{chart.name}-{chart.version}.values.yaml there)"
        )
        return
    report.values += 1
    for path, message in validate_values.check(values, ref):
        report.errors.append(Finding(env_name, f"{component} values", path, message))


def _check_gitops(
    platform: Platform, rendered: Rendered, version: tuple[int, int], report: Report
) -> None:
    """The Applications of a GitOps env against its ArgoCD version's Application CRD and
    `check_application`, and the argocd values against `check_health_customisation`."""
    from ruamel.yaml import YAML

    from streamforge.validate import argocd_schema
    from streamforge.validate.argocd_rules import check_application, check_health_customisation
    from streamforge.validate.objects import ObjectChecker

    env_name, gitops = platform.env.name, platform.env.gitops
    if gitops is None:
        return
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


def validate_env(
    root: Path, env_name: str, schemas: Path, chart_values: Path, report: Report
) -> None:
    """Render env `env_name` of the repository at `root` and add to `report` what its objects
    (CRDs from `schemas`), chart values (references in `chart_values`) and Applications break."""
    from streamforge.model.load import load_platform
    from streamforge.render.context import Facts
    from streamforge.render.env import render
    from streamforge.validate.objects import ObjectChecker

    platform = load_platform(root, env_name)
    rendered = render(platform, Facts())
    version = _schema_version(env_name, platform.env.kubernetes_version, report)
    checker = ObjectChecker(schemas, version)
    for component in platform.enabled:
        _check_component(platform, rendered, component, checker, chart_values, report)
    _check_gitops(platform, rendered, version, report)


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
