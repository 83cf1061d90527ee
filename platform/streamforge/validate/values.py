"""Check a component's rendered Helm values against its pinned chart's reference files in
`<chart-values>/<chart>-<version>.{values.schema.json,values.yaml,Chart.yaml}`.

Two checks, both where the files exist:
- the chart's values.schema.json, applied to the chart defaults merged with our values (as
  Helm does); only problems inside keys we set are reported;
- documented keys: every key path we set must exist in the chart's default values.yaml (or be
  declared by its schema), except below an open map (see docs/validation.md for the rule).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML

from streamforge.model.schema.component import Chart
from streamforge.model.sources import deep_merge
from streamforge.validate.objects import Issue, explain, format_path, unknown_key_message

# Keys whose content is free-form in every chart: they are passed through to Kubernetes
# (which has its own schema) or to the application, never interpreted by the chart itself.
FREE_FORM = {
    "affinity",
    "annotations",
    "config",
    "containersecuritycontext",
    "env",
    "envfrom",
    "extraargs",
    "extraenv",
    "global",
    "labels",
    "nodeselector",
    "podsecuritycontext",
    "resources",
    "securitycontext",
    "tolerations",
}
FREE_FORM_SUFFIXES = ("annotations", "labels", "selector")
# `#   certificateRefs:`: a key the chart documents only as a commented-out example
COMMENTED_KEY = re.compile(r"^\s*#+\s*([A-Za-z_][A-Za-z0-9_.-]*):(\s|$)", re.MULTILINE)


@dataclass(frozen=True)
class ChartReference:
    chart: Chart
    defaults: dict[str, Any] | None
    schema: dict[str, Any] | None
    subcharts: frozenset[str]
    commented: frozenset[str]  # key names shown only in commented-out examples

    @property
    def label(self) -> str:
        return f"chart {self.chart.name} {self.chart.version}"


@cache
def _load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@cache
def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def reference(chart: Chart, folder: Path) -> ChartReference | None:
    """The chart's reference files, or None when the folder has none for this version."""
    base = folder / f"{chart.name}-{chart.version}"
    values = base.with_name(base.name + ".values.yaml")
    schema = base.with_name(base.name + ".values.schema.json")
    chart_yaml = base.with_name(base.name + ".Chart.yaml")
    if not values.is_file() and not schema.is_file():
        return None
    subcharts: set[str] = set()
    if chart_yaml.is_file():
        for dep in (_load_yaml(chart_yaml) or {}).get("dependencies") or []:
            subcharts.add(dep.get("alias") or dep["name"])
    commented: set[str] = set()
    if values.is_file():
        commented = {m[1] for m in COMMENTED_KEY.finditer(values.read_text(encoding="utf-8"))}
    return ChartReference(
        chart,
        (_load_yaml(values) or {}) if values.is_file() else None,
        _load_json(schema) if schema.is_file() else None,
        frozenset(subcharts),
        frozenset(commented),
    )


def coalesce(defaults: Any, values: Any) -> Any:
    """Helm's merge of user values onto chart defaults: maps merge, null deletes a key."""
    if isinstance(defaults, dict) and isinstance(values, dict):
        out = dict(defaults)
        for key, value in values.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = coalesce(defaults.get(key), value)
        return out
    return values


def _has_path(data: Any, path: list[Any]) -> bool:
    for part in path:
        in_map = isinstance(data, dict) and part in data
        if in_map or (isinstance(data, list) and isinstance(part, int) and part < len(data)):
            data = data[part]
        else:
            return False
    return True


def check(values: dict[str, Any], ref: ChartReference) -> list[Issue]:
    """Every problem with `values` as (key path, message); documented-key messages win."""
    found: dict[str, str] = {}
    if ref.defaults is not None:
        _walk(values, ref.defaults, ref.schema, ref.schema, [], ref, found)
    if ref.schema is not None:
        merged = coalesce(ref.defaults or {}, values)
        # charts write $schema loosely (https://..., "schema#"); Helm reads them as draft-07
        cls = jsonschema.validators.validator_for(ref.schema, default=jsonschema.Draft7Validator)
        validator = cls(ref.schema)
        for error in validator.iter_errors(merged):
            for path, message in explain(error, f"{ref.label} allows"):
                # a problem in the chart's own defaults is not ours to report
                parts = list(error.absolute_path)
                if error.validator == "additionalProperties" or _has_path(values, parts):
                    found.setdefault(path, message)
    return sorted(found.items())


def _resolve(root: Any, node: Any) -> Any:
    """Follow local `$ref`s (#/$defs/..., #/definitions/...) of a values schema."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return None
        target = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node = target
    return node if isinstance(node, dict) else None


def _is_free_form(key: str) -> bool:
    lowered = key.lower()
    return lowered in FREE_FORM or lowered.endswith(FREE_FORM_SUFFIXES)


def _collection_template(defaults: dict[str, Any]) -> dict[str, Any] | None:
    """If every documented entry is a mapping and they share a key (ports.web, ports.websecure,
    gateway.listeners.web), the map is a collection of named entries: new names are allowed and
    are checked against the union of the documented entries."""
    entries = list(defaults.values())
    if not entries or not all(isinstance(e, dict) and e for e in entries):
        return None
    if not set.intersection(*(set(e) for e in entries)):
        return None
    template: dict[str, Any] = {}
    for entry in entries:
        template = deep_merge(template, entry)
    return template


def _walk(
    values: dict[str, Any],
    defaults: dict[str, Any],
    schema: Any,
    root: Any,
    path: list[Any],
    ref: ChartReference,
    found: dict[str, str],
) -> None:
    schema = _resolve(root, schema)
    props: dict[str, Any] = (schema or {}).get("properties") or {}
    template = _collection_template(defaults)
    documented = set(defaults) | set(props)
    for key, value in values.items():
        here = [*path, key]
        if key in defaults:
            default = defaults[key]
        elif key in props:
            default = None
        elif template is not None:
            default = template
        elif key in ref.commented:
            continue  # documented by example only: its shape is unknown, so it stays open
        else:
            found[format_path(here)] = unknown_key_message(
                str(key), documented, "key", f"{ref.label} documents"
            )
            continue
        if _is_free_form(str(key)):
            continue
        problem = _type_mismatch(default, value)
        if problem:
            found[format_path(here)] = f"{problem} ({ref.label} default: {default!r})"
            continue
        if not isinstance(value, dict):
            continue
        if not path and key in ref.subcharts:
            continue  # a subchart's values: its defaults are not in the reference files
        child_schema = _resolve(root, props.get(key))
        if isinstance(default, dict) and default:
            _walk(value, default, child_schema, root, here, ref, found)
        elif child_schema and child_schema.get("properties"):
            _walk(value, {}, child_schema, root, here, ref, found)
        # else: the chart leaves this map open ({} or null by default): anything goes


def _type_mismatch(default: Any, value: Any) -> str | None:
    """Shape errors Helm templates would not catch: a map where a scalar is documented, a
    string for a boolean (Helm treats "false" as true), and so on."""
    if default is None or value is None or default == {} or default == []:
        return None  # the chart leaves the shape open
    if isinstance(default, bool) and not isinstance(value, bool):
        return f"expected true or false, got {value!r}"
    if isinstance(default, dict) and not isinstance(value, dict):
        return f"expected a mapping, got {value!r}"
    if isinstance(default, list) and not isinstance(value, list):
        return f"expected a list, got {value!r}"
    if not isinstance(default, dict | list) and isinstance(value, dict | list):
        return f"expected a single value, got a {'mapping' if isinstance(value, dict) else 'list'}"
    return None
