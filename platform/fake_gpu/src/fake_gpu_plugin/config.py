"""The device plugin's configuration file, in the format of NVIDIA's k8s-device-plugin (v0.17).

Only what the GPU Operator's plugin acts on is modelled: `version`, `flags.migStrategy` and
`sharing.timeSlicing.{renameByDefault, failRequestsGreaterThanOne, resources[].{name, replicas}}`.
Like NVIDIA's plugin v0.17, a per-resource `rename` or a `devices` other than `all` is accepted but
ignored, with a warning. Every error is one line: `<source>: <field>: <problem>; <fix>`.

The file may be one config, or a ConfigMap's `data` (one key per named config, as the GPU
Operator's time-slicing ConfigMap), from which `key` selects one; a folder holding the ConfigMap
mounted as files (`/available-configs/<key>` under the operator) works the same way.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RESOURCE_PREFIX = "nvidia.com/"
FULL_GPU_RESOURCE = "nvidia.com/gpu"
SHARED_SUFFIX = ".shared"
MIG_STRATEGIES = ("none", "single", "mixed")

_TOP_KEYS = {"version", "flags", "resources", "sharing"}
_FLAG_KEYS = {
    "migStrategy",
    "failOnInitError",
    "nvidiaDriverRoot",
    "nvidiaDevRoot",
    "gdsEnabled",
    "mofedEnabled",
    "useNodeFeatureAPI",
    "deviceDiscoveryStrategy",
    "mpsRoot",
    "plugin",
    "gfd",
}
_SHARING_KEYS = {"timeSlicing", "mps"}
_TIME_SLICING_KEYS = {"renameByDefault", "failRequestsGreaterThanOne", "resources"}
_RESOURCE_KEYS = {"name", "rename", "devices", "replicas"}
_RESOURCE_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


class ConfigError(ValueError):
    """The configuration is wrong; str() is one line naming the source, the field and the fix."""

    def __init__(self, source: str, field_path: str, problem: str, fix: str) -> None:
        self.source = source
        self.field = field_path
        self.problem = problem
        self.fix = fix
        where = f"{source}: {field_path}" if field_path else source
        super().__init__(f"{where}: {problem}; {fix}")


@dataclass(frozen=True)
class ReplicatedResource:
    """One entry of sharing.timeSlicing.resources, as NVIDIA's plugin v0.17 applies it."""

    name: str
    replicas: int
    rename: str = ""

    @property
    def advertised_name(self) -> str:
        """The extended resource the kubelet sees (the rename, if renameByDefault set one)."""
        return self.rename or self.name


@dataclass(frozen=True)
class TimeSlicing:
    rename_by_default: bool = False
    fail_requests_greater_than_one: bool = False
    resources: tuple[ReplicatedResource, ...] = ()


@dataclass(frozen=True)
class PluginConfig:
    version: str = "v1"
    mig_strategy: str = "none"
    time_slicing: TimeSlicing | None = None
    source: str = "<empty>"
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def replicated(self, resource: str = FULL_GPU_RESOURCE) -> ReplicatedResource | None:
        """The time-slicing entry for `resource`, or None when it is not shared."""
        if self.time_slicing is None:
            return None
        for entry in self.time_slicing.resources:
            if entry.name == resource:
                return entry
        return None

    def replicas(self, resource: str = FULL_GPU_RESOURCE) -> int:
        entry = self.replicated(resource)
        return entry.replicas if entry else 1

    def resource_name(self, resource: str = FULL_GPU_RESOURCE) -> str:
        entry = self.replicated(resource)
        return entry.advertised_name if entry else resource

    @property
    def fail_requests_greater_than_one(self) -> bool:
        return bool(self.time_slicing and self.time_slicing.fail_requests_greater_than_one)

    @property
    def sharing_strategy(self) -> str:
        """`time-slicing` when any resource is replicated, else `none` (MPS is not supported)."""
        if self.time_slicing and any(r.replicas > 1 for r in self.time_slicing.resources):
            return "time-slicing"
        return "none"


def load_config(path_or_text: str | Path | None, *, key: str | None = None) -> PluginConfig:
    """Load and validate a config.

    `path_or_text` is a Path, a path string (a file or a folder of ConfigMap keys), YAML text
    (a string containing a newline or `: `), or None/"" for the empty config (no sharing), which
    is what the GPU Operator's config-manager falls back to. `key` picks one named config out of
    a ConfigMap's data. Raises ConfigError.
    """
    if path_or_text is None:
        return PluginConfig()
    if isinstance(path_or_text, str) and _looks_like_text(path_or_text):
        return _from_text(path_or_text, "<config text>", key)
    path = Path(path_or_text)
    source = str(path)
    if path.is_dir():
        if not key:
            raise ConfigError(
                source,
                "",
                "is a folder of named configs but no config key was given",
                "pass --config-key <name> (a key of the time-slicing ConfigMap, e.g. any)",
            )
        entry = path / key
        if not entry.is_file():
            keys = sorted(p.name for p in path.iterdir() if p.is_file() and p.name[0] != ".")
            raise ConfigError(
                source,
                key,
                f"no config named {key!r} (found: {', '.join(keys) or 'none'})",
                "pass --config-key with one of the ConfigMap's keys",
            )
        return _from_text(_read(entry), str(entry), None)
    if not path.exists():
        raise ConfigError(source, "", "file not found", "mount the time-slicing ConfigMap there")
    return _from_text(_read(path), source, key)


def _looks_like_text(value: str) -> bool:
    return value == "" or "\n" in value or ": " in value or value.rstrip().endswith(":")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror})"
        raise ConfigError(str(path), "", problem, "check the mount") from exc


def _from_text(text: str, source: str, key: str | None) -> PluginConfig:
    data = _parse_yaml(text, source)
    if key:
        data, source = _select_key(data, source, key)
    return parse_config(data, source)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(source, where, f"is not valid YAML ({problem})", "fix the YAML") from exc


def _select_key(data: Any, source: str, key: str) -> tuple[Any, str]:
    """Pick the named config `key` out of a ConfigMap (manifest or bare data mapping).

    A file that already is a single config (it has version/flags/sharing) is used as it is, so
    a ConfigMap key mounted with subPath works with or without --config-key.
    """
    if isinstance(data, dict) and data.get("kind") == "ConfigMap":
        data = data.get("data") or {}
        source = f"{source} (data)"
    if isinstance(data, dict) and key in data:
        value = data[key]
        if not isinstance(value, str):
            raise ConfigError(
                source,
                key,
                "must be a string holding a config (a ConfigMap value)",
                f"write it as `{key}: |` followed by the indented config",
            )
        return _parse_yaml(value, f"{source}[{key}]"), f"{source}[{key}]"
    if isinstance(data, dict) and data.keys() & {"version", "flags", "sharing"}:
        return data, source
    keys = sorted(str(k) for k in data) if isinstance(data, dict) else []
    raise ConfigError(
        source,
        key,
        f"no config named {key!r} (found: {', '.join(keys) or 'none'})",
        "pass --config-key with one of the ConfigMap's keys",
    )


def parse_config(data: Any, source: str = "<config>") -> PluginConfig:
    """Validate already-parsed YAML data; see load_config."""
    if data is None:
        return PluginConfig(source=source)
    mapping = _mapping(data, source, "", "write a mapping with version: v1 and sharing:")
    _known(mapping, _TOP_KEYS, source, "")
    warnings: list[str] = []

    version = mapping.get("version", "v1")
    if version != "v1":
        raise ConfigError(source, "version", f"unknown version {version!r}", "set version: v1")

    mig_strategy = "none"
    if mapping.get("flags") is not None:
        flags = _mapping(mapping["flags"], source, "flags", "write flags as a mapping")
        _known(flags, _FLAG_KEYS, source, "flags")
        mig_strategy = flags.get("migStrategy", "none")
        if mig_strategy not in MIG_STRATEGIES:
            raise ConfigError(
                source,
                "flags.migStrategy",
                f"unknown MIG strategy {mig_strategy!r}",
                f"use one of {', '.join(MIG_STRATEGIES)}",
            )
        if mig_strategy != "none":
            warnings.append(
                f"{source}: flags.migStrategy={mig_strategy}: the fake GPUs are not MIG-capable, "
                "so this acts like none"
            )

    time_slicing = None
    if mapping.get("sharing") is not None:
        sharing = _mapping(mapping["sharing"], source, "sharing", "write sharing as a mapping")
        _known(sharing, _SHARING_KEYS, source, "sharing")
        if sharing.get("mps") is not None:
            raise ConfigError(
                source,
                "sharing.mps",
                "MPS sharing is not supported by the replica's fake plugin (production uses "
                "time-slicing)",
                "use sharing.timeSlicing instead",
            )
        if sharing.get("timeSlicing") is not None:
            time_slicing = _time_slicing(sharing["timeSlicing"], source, warnings)

    return PluginConfig(
        version="v1",
        mig_strategy=mig_strategy,
        time_slicing=time_slicing,
        source=source,
        warnings=tuple(warnings),
    )


def _time_slicing(data: Any, source: str, warnings: list[str]) -> TimeSlicing:
    base = "sharing.timeSlicing"
    mapping = _mapping(data, source, base, "write timeSlicing as a mapping")
    _known(mapping, _TIME_SLICING_KEYS, source, base)
    rename_by_default = _bool(mapping, "renameByDefault", source, base)
    fail_gt_one = _bool(mapping, "failRequestsGreaterThanOne", source, base)
    entries = mapping.get("resources")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            source,
            f"{base}.resources",
            "is missing or empty",
            "list at least one resource, e.g. [{name: nvidia.com/gpu, replicas: 4}]",
        )
    resources: list[ReplicatedResource] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{base}.resources[{index}]"
        item = _mapping(entry, source, where, "write each resource as {name: ..., replicas: N}")
        _known(item, _RESOURCE_KEYS, source, where)
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(
                source, f"{where}.name", "is missing", "set name: nvidia.com/gpu (the resource)"
            )
        if not name.startswith(RESOURCE_PREFIX):
            name = RESOURCE_PREFIX + name
        suffix = name[len(RESOURCE_PREFIX) :]
        if len(suffix) > 63 or not _RESOURCE_NAME.match(suffix):
            raise ConfigError(
                source,
                f"{where}.name",
                f"{name!r} is not a valid resource name",
                "use nvidia.com/ followed by at most 63 letters, digits, '-', '_' or '.'",
            )
        if name in seen:
            raise ConfigError(
                source, f"{where}.name", f"{name!r} is listed twice", "list each resource once"
            )
        seen.add(name)
        replicas = item.get("replicas")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 2:
            problem = f"must be an integer >= 2, not {replicas!r}"
            if replicas is None:
                problem = "is missing"
            raise ConfigError(
                source,
                f"{where}.replicas",
                problem,
                "set replicas to the number of pods that share one GPU (2 or more)",
            )
        if item.get("rename"):
            warnings.append(
                f"{source}: {where}.rename is ignored, as by NVIDIA's plugin v0.17 "
                "(only renameByDefault renames)"
            )
        devices = item.get("devices", "all")
        if devices != "all":
            warnings.append(
                f"{source}: {where}.devices={devices!r} is ignored: all GPUs are shared, "
                "as by NVIDIA's plugin v0.17"
            )
        rename = name + SHARED_SUFFIX if rename_by_default else ""
        resources.append(ReplicatedResource(name=name, replicas=replicas, rename=rename))
        if name != FULL_GPU_RESOURCE:
            warnings.append(
                f"{source}: {where}.name={name}: the fake plugin only serves {FULL_GPU_RESOURCE}"
                " (no MIG devices); this entry has no effect"
            )
    return TimeSlicing(
        rename_by_default=rename_by_default,
        fail_requests_greater_than_one=fail_gt_one,
        resources=tuple(resources),
    )


def _mapping(data: Any, source: str, where: str, fix: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(source, where, f"must be a mapping, not {type(data).__name__}", fix)
    return data


def _known(mapping: dict[str, Any], allowed: set[str], source: str, where: str) -> None:
    for name in mapping:
        if name not in allowed:
            path = f"{where}.{name}" if where else str(name)
            raise ConfigError(
                source,
                path,
                "unknown field",
                f"remove it or use one of {', '.join(sorted(allowed))} (names are case-sensitive)",
            )


def _bool(mapping: dict[str, Any], name: str, source: str, where: str) -> bool:
    value = mapping.get(name, False)
    if not isinstance(value, bool):
        problem = f"must be true or false, not {value!r}"
        raise ConfigError(source, f"{where}.{name}", problem, "write true or false")
    return value


def config_from_env() -> str | None:
    """The config path NVIDIA's plugin reads from CONFIG_FILE, if set."""
    return os.environ.get("CONFIG_FILE") or None
