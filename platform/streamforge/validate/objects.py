"""Check rendered Kubernetes objects against schemas: built-in kinds against the Kubernetes
OpenAPI schemas bundled in `kubernetes-validate` (strict variant), custom resources against the
CRD JSON schemas of the pinned versions (`<schemas>/crds/<group>/<kind>_<version>.json`).

CRD schemas rarely say `additionalProperties: false`, so the API server would silently prune a
misspelt field. We close every object schema that declares `properties` (unless it carries
`x-kubernetes-preserve-unknown-fields`), so a typo fails here instead.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
Issue = tuple[str, str]  # (field path, what is wrong)


def format_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f'["{part}"]'
    return out or "(top level)"


def listing(names: Iterable[str], limit: int = 12) -> str:
    names = sorted(names)
    more = ", ..." if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def unknown_key_message(key: str, allowed: Iterable[str], noun: str, source: str) -> str:
    allowed = sorted(allowed)
    guess = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean '{guess[0]}'? " if guess else ""
    return f"unknown {noun} ({hint}{source}: {listing(allowed)})"


def explain(error: ValidationError, source: str) -> Iterator[Issue]:
    """One jsonschema error as (path, message) pairs; unknown keys become one pair each."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        props = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        patterns = (
            error.schema.get("patternProperties", {}) if isinstance(error.schema, dict) else {}
        )
        for key in error.instance:
            if key not in props and not any(re.search(p, key) for p in patterns):
                yield format_path([*path, key]), unknown_key_message(key, props, "field", source)
        return
    if error.validator in ("anyOf", "oneOf") and error.context:
        inner = best_match(error.context)
        yield format_path([*path, *inner.relative_path]), inner.message
        return
    yield format_path(path), error.message


def close_schema(schema: Any) -> Any:
    """A copy of a CRD schema where objects with declared properties reject other keys."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        props = node.get("properties")
        if (
            isinstance(props, dict)
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        for child in (props or {}).values():
            walk(child)
        items = node.get("items")
        for child in items if isinstance(items, list) else [items]:
            walk(child)
        walk(node.get("additionalProperties"))
        # allOf/anyOf/oneOf branches only restate fields declared above; closing them
        # would reject fields they do not mention

    walk(schema)
    # every object has apiVersion, kind and metadata, even where a CRD's schema leaves them out
    # (postgres-operator's OperatorConfiguration does); metadata is checked on its own
    if isinstance(schema.get("properties"), dict):
        for key in ("apiVersion", "kind", "metadata"):
            schema["properties"].setdefault(key, {})
    return schema


def k8s_versions() -> list[tuple[int, int]]:
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    found = set()
    for entry in root.iterdir():
        match = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", entry.name)
        if match:
            found.add((int(match[1]), int(match[2])))
    return sorted(found)


def pick_k8s_version(wanted: str) -> tuple[int, int] | None:
    """The newest bundled schema version not newer than `wanted` (v1.36.1 -> (1, 36))."""
    major, minor = (int(x) for x in wanted.lstrip("v").split(".")[:2])
    usable = [v for v in k8s_versions() if v <= (major, minor)]
    return usable[-1] if usable else None


def _k8s_dir(version: tuple[int, int]) -> Any:
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    return root / f"v{version[0]}.{version[1]}.0-local-strict"


@cache
def _k8s_registry(version: tuple[int, int]) -> tuple[Registry, str]:
    defs = json.loads((_k8s_dir(version) / "_definitions.json").read_text())
    return Registry().with_resource(defs["$id"], Resource.from_contents(defs)), defs["$id"]


@cache
def _k8s_validator(version: tuple[int, int], filename: str) -> jsonschema.Validator | None:
    path = _k8s_dir(version) / filename
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    registry, _ = _k8s_registry(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _meta_validator(version: tuple[int, int]) -> jsonschema.Validator:
    registry, defs_id = _k8s_registry(version)
    schema = {"$ref": f"{defs_id}#/$defs/{OBJECT_META}"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _crd_validator(path: Path) -> jsonschema.Validator:
    schema = close_schema(json.loads(path.read_text(encoding="utf-8")))
    return jsonschema.validators.validator_for(schema)(schema)


def is_builtin_group(group: str) -> bool:
    """Groups served by Kubernetes itself: core (""), dotless (apps) and *.k8s.io."""
    return "." not in group or group.endswith(".k8s.io")


class ObjectChecker:
    """Validates objects for one Kubernetes version and one CRD schema directory."""

    def __init__(self, schemas_dir: Path, version: tuple[int, int]) -> None:
        self.crds = schemas_dir / "crds"
        self.version = version

    def check(self, obj: Any) -> list[Issue]:
        if not isinstance(obj, dict):
            return [("(top level)", "not a mapping; each YAML document must be one object")]
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return [("apiVersion/kind", "missing; every object needs apiVersion: and kind:")]
        group, _, version = api_version.rpartition("/")
        crd = self.crds / (group or "core") / f"{kind.lower()}_{version}.json"
        if crd.is_file():
            source = f"{kind} {api_version} allows"
            issues = [i for e in _crd_validator(crd).iter_errors(obj) for i in explain(e, source)]
            meta = obj.get("metadata")
            if isinstance(meta, dict):  # CRD schemas leave metadata open: check it as k8s does
                for error in _meta_validator(self.version).iter_errors(meta):
                    for path, message in explain(error, "ObjectMeta allows"):
                        issues.append((f"metadata.{path}".removesuffix(".(top level)"), message))
            return sorted(set(issues))
        if is_builtin_group(group):
            # kubernetes-validate file names: <kind>-<first label of group>-<version>.json
            label = group.split(".")[0]
            filename = (
                f"{kind.lower()}-{label}-{version}.json"
                if group
                else f"{kind.lower()}-{version}.json"
            )
            validator = _k8s_validator(self.version, filename)
            if validator is not None:
                source = f"Kubernetes {self.version[0]}.{self.version[1]} {kind} allows"
                return sorted({i for e in validator.iter_errors(obj) for i in explain(e, source)})
        return [
            (
                "apiVersion",
                f"no schema for {group or 'core'}/{version} {kind}; add it to the schema dir "
                f"({self.crds}/{group}/{kind.lower()}_{version}.json) or fix apiVersion",
            )
        ]
