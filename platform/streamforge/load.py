"""Load and check the whole model: an env file (and the env it extends), every component and
every service. All problems are collected and raised together as one ModelError."""

from __future__ import annotations

import difflib
import ipaddress
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from streamforge import sources
from streamforge.errors import ModelError, Problem
from streamforge.model import (
    ALLOWED_RESTRICTED,
    PROFILES,
    RESTRICTED_LABEL,
    Component,
    Env,
    Service,
    address_range,
)
from streamforge.sources import Loc, Origins

HOMELAB_NODE_LABEL = "streamforge.io/homelab-node"


@dataclass
class Platform:
    """Everything one env is made of, checked."""

    root: Path
    env: Env
    components: dict[str, Component]  # every defined component, by name
    enabled: list[str]  # enabled components in dependency order
    services: dict[str, Service]
    origins: dict[str, Origins] = field(default_factory=dict)

    @property
    def left_out(self) -> dict[str, str]:
        """{component: reason} for the components this env leaves out (see ComponentSettings)."""
        return {
            name: setting.left_out
            for name, setting in sorted(self.env.components.items())
            if setting.left_out
        }

    def left_out_api(self, api_version: str) -> str | None:
        """The left-out component that serves `api_version`'s group, if any."""
        group = api_version.rpartition("/")[0]
        for name in self.left_out:
            if group and group in self.components[name].api_groups:
                return name
        return None

    def component_dir(self, name: str) -> Path:
        return self.root / "platform" / "components" / name

    def service_dir(self, name: str) -> Path:
        return self.root / "services" / name

    def node_labels(self, node_name: str) -> dict[str, str]:
        """A node's labels, with the label every node carries in both envs."""
        node = self.env.node(node_name)
        assert node is not None
        return {HOMELAB_NODE_LABEL: node.name, **node.labels}


def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest folder above `start` holding envs/ and platform/."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "envs").is_dir() and (candidate / "platform" / "components").is_dir():
            return candidate
    raise ModelError(
        [
            Problem(
                str(here),
                0,
                "not inside the StreamForge repository",
                "run this from the repository (it has envs/ and platform/)",
            )
        ]
    )


def env_names(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "envs").glob("*.yaml"))


def load_platform(root: Path, env_name: str, profile: str | None = None) -> Platform:
    """Load and check env `env_name`; `profile` overrides the env file's profile."""
    problems: list[Problem] = []
    env, env_origins = _load_env(root, env_name, problems, profile)
    components, comp_origins = _load_all(
        root / "platform" / "components", "component.yaml", Component, problems
    )
    services, svc_origins = _load_all(root / "services", "service.yaml", Service, problems)
    if problems or env is None:
        raise ModelError(problems)
    enabled = _check(env, env_origins, components, comp_origins, services, svc_origins, problems)
    _check_mirrors(root, env, env_origins, problems)
    if problems:
        raise ModelError(problems)
    origins = {
        "env": env_origins,
        **{f"component:{k}": v for k, v in comp_origins.items()},
        **{f"service:{k}": v for k, v in svc_origins.items()},
    }
    return Platform(root, env, components, enabled, services, origins)


def _load_env(
    root: Path, name: str, problems: list[Problem], profile: str | None
) -> tuple[Env | None, Origins]:
    path = root / "envs" / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(env_names(root)) or "none"
        raise ModelError(
            [
                Problem(
                    sources.display_path(path), 0, f"no env named '{name}'", f"use one of: {known}"
                )
            ]
        )
    data, origins = sources.load(path)
    if not isinstance(data, dict):
        problems.append(origins.problem((), "an env file must be a mapping", "start with name:"))
        return None, origins
    seen = {name}
    while "extends" in data:
        parent = data.pop("extends")
        origins.pop(("extends",), None)
        parent_path = root / "envs" / f"{parent}.yaml"
        if not isinstance(parent, str) or not parent_path.is_file() or parent in seen:
            problems.append(
                origins.problem(
                    (),
                    f"'extends: {parent}' names no other env file",
                    f"use one of: {', '.join(n for n in env_names(root) if n not in seen)}",
                )
            )
            return None, origins
        seen.add(parent)
        base, base_origins = sources.load(parent_path)
        data = sources.merge(base, base_origins, data, origins)
        origins = base_origins
    if profile is not None:
        if profile not in PROFILES:
            raise ModelError(
                [
                    Problem(
                        "--profile",
                        0,
                        f"unknown profile '{profile}'",
                        f"use one of: {', '.join(PROFILES)}",
                    )
                ]
            )
        data["profile"] = profile
    return _validate(Env, data, origins, problems), origins


def _load_all(
    folder: Path, filename: str, model: type[BaseModel], problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, Origins]]:
    items: dict[str, Any] = {}
    all_origins: dict[str, Origins] = {}
    for path in sorted(folder.glob(f"*/{filename}")):
        data, origins = sources.load(path)
        item = _validate(model, data, origins, problems)
        if item is None:
            continue
        if item.name != path.parent.name:  # type: ignore[attr-defined]
            problems.append(
                origins.problem(
                    ("name",),
                    f"name '{item.name}' differs from its folder "  # type: ignore[attr-defined]
                    f"'{path.parent.name}'",
                    f"rename one so both read '{path.parent.name}'",
                )
            )
            continue
        items[item.name] = item  # type: ignore[attr-defined]
        all_origins[item.name] = origins  # type: ignore[attr-defined]
    return items, all_origins


def _validate(model: type[BaseModel], data: Any, origins: Origins, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.append(_explain(model, err, origins))
        return None


def _explain(model: type[BaseModel], err: Any, origins: Origins) -> Problem:
    """Turn one pydantic error into a problem with a fix a user can follow."""
    loc: Loc = tuple(part for part in err["loc"] if not _is_union_tag(model, err["loc"], part))
    where = ".".join(str(p) for p in loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, tuple(err["loc"])[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        fix = f"did you mean '{guess[0]}'?" if guess else "remove it"
        return origins.problem(
            loc, f"unknown key '{where}'", f"{fix} (allowed here: {', '.join(allowed)})"
        )
    if kind == "missing":
        return origins.problem(loc[:-1], f"missing required key '{where}'", f"add '{loc[-1]}:'")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = err["ctx"]["discriminator"].strip("'")
        return origins.problem(
            (*loc, tag),
            f"{where}.{tag}: {err['msg']}",
            f"set {tag}: to one of {err['ctx'].get('expected_tags', '')}",
        )
    if kind == "value_error":
        message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        return origins.problem(loc, f"{where}: {message}", "correct the value")
    if kind == "string_pattern_mismatch":
        return origins.problem(
            loc,
            f"{where}: '{err['input']}' has the wrong form",
            f"it must match {err['ctx']['pattern']}",
        )
    if kind == "string_type":
        return origins.problem(
            loc, f"{where}: expected text, got {err['input']!r}", f'quote it: "{err["input"]}"'
        )
    return origins.problem(
        loc, f"{where}: {err['msg'].lower()} (got {err['input']!r})", "correct the value"
    )


def _is_union_tag(model: type[BaseModel], loc: tuple[Any, ...], part: Any) -> bool:
    # pydantic inserts the discriminator value ('kind') into the loc of tagged-union errors
    return (
        bool(loc)
        and loc[0] == "provider"
        and len(loc) > 1
        and loc[1] == part
        and part in ("kind", "existing")
    )


def _allowed_keys(model: Any, loc: Loc) -> list[str]:
    """The keys allowed at `loc` inside `model`, found by walking its type annotations."""
    current: Any = model
    for part in loc:
        current = _unwrap(current, part)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(tp: Any, part: str | int) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        fields = {f.alias or n: f for n, f in tp.model_fields.items()}
        return _strip(fields[str(part)].annotation) if str(part) in fields else None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, dict) and args:
        return _strip(args[-1])
    for member in args:  # a tagged union: pydantic put the tag value into the loc
        member = _strip(member)
        tag = getattr(member, "model_fields", {}).get("type")
        if tag is not None and part in typing.get_args(tag.annotation):
            return member
    return None


def _strip(tp: Any) -> Any:
    """Peel Annotated and Optional so the model class underneath shows."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, __import__("types").UnionType) and len(args) == 1:
        return _strip(args[0])
    return tp


def _check(
    env: Env,
    eo: Origins,
    components: dict[str, Component],
    co: dict[str, Origins],
    services: dict[str, Service],
    so: dict[str, Origins],
    problems: list[Problem],
) -> list[str]:
    """Cross-reference checks; returns the enabled components in dependency order."""
    node_names = [n.name for n in env.nodes]
    seen: set[str] = set()
    for index, node in enumerate(env.nodes):
        if node.name in seen:
            problems.append(
                eo.problem(
                    ("nodes", index, "name"),
                    f"duplicate node '{node.name}'",
                    "give every node its own name",
                )
            )
        seen.add(node.name)
    if not any(n.role == "control-plane" for n in env.nodes):
        problems.append(
            eo.problem(
                ("nodes",),
                "no node has role: control-plane",
                "mark at least one node role: control-plane",
            )
        )

    if env.provider.type == "kind":
        for index, name in enumerate(env.provider.mirror_nodes):
            mirrored_node = env.node(name)
            loc = ("provider", "mirror_nodes", index)
            if mirrored_node is None:
                problems.append(
                    eo.problem(
                        loc,
                        f"mirror_nodes names unknown node '{name}'",
                        f"use one of: {', '.join(node_names)}",
                    )
                )
            elif mirrored_node.role != "worker":
                problems.append(
                    eo.problem(
                        loc,
                        f"'{name}' is a control-plane node",
                        "mirror only workers; kind adds its own control plane",
                    )
                )
            else:
                for key in mirrored_node.labels:
                    if RESTRICTED_LABEL.search(key) and not ALLOWED_RESTRICTED.match(key):
                        n_loc = ("nodes", node_names.index(name), "labels", key)
                        problems.append(
                            eo.problem(
                                n_loc,
                                f"label '{key}' of mirrored node '{name}' is in a "
                                "kubernetes.io namespace, which kind nodes cannot self-assign",
                                "use a streamforge.io/ label instead",
                            )
                        )

    _check_network(env, eo, problems)
    _check_api_vip(env, eo, problems)
    _check_dns_records(env, eo, problems)

    # In the replica only mirrored nodes exist; anything pinned to a node must pin to one of those.
    mirrored = set(env.provider.mirror_nodes) if env.provider.type == "kind" else set(node_names)

    for key in env.components:
        if key not in components:
            guess = difflib.get_close_matches(key, list(components), n=1)
            problems.append(
                eo.problem(
                    ("components", key),
                    f"unknown component '{key}'",
                    f"did you mean '{guess[0]}'?"
                    if guess
                    else f"use one of: {', '.join(sorted(components))}",
                )
            )

    for name, comp in sorted(components.items()):
        stand_in = comp.replica.stand_in if comp.replica else None
        if stand_in and stand_in not in components:
            problems.append(
                co[name].problem(
                    ("replica", "stand_in"),
                    f"stand-in '{stand_in}' is not a component",
                    f"use one of: {', '.join(sorted(components))}",
                )
            )

    stage = "replica" if env.is_replica else "production"
    enabled: set[str] = set()
    for name, comp in components.items():
        setting = env.components.get(name)
        default_on = (
            PROFILES.index(comp.profile) <= PROFILES.index(env.profile) and stage in comp.runs_in
        )
        if setting and setting.left_out:
            if setting.enabled:
                problems.append(
                    eo.problem(
                        ("components", name, "enabled"),
                        f"component '{name}' is both enabled and left out",
                        "remove enabled: true or left_out",
                    )
                )
            continue
        if setting.enabled if setting and setting.enabled is not None else default_on:
            if stage not in comp.runs_in:
                problems.append(
                    eo.problem(
                        ("components", name, "enabled"),
                        f"component '{name}' does not run in the {stage}",
                        "remove enabled: true",
                    )
                )
            enabled.add(name)

    for name in sorted(enabled):
        comp = components[name]
        for index, dep in enumerate(comp.depends_on):
            if dep not in components:
                problems.append(
                    co[name].problem(
                        ("depends_on", index),
                        f"depends on unknown component '{dep}'",
                        f"use one of: {', '.join(sorted(components))}",
                    )
                )
            elif (
                dep not in enabled
                and stage in components[dep].runs_in
                and not (env.components.get(dep) and env.components[dep].left_out)
            ):
                # a dependency that never runs in this stage (a replica-only stub) is not needed
                where = eo if ("components", dep) in eo else co[name]
                dep_loc: Loc = ("components", dep) if where is eo else ("depends_on", index)
                problems.append(
                    where.problem(
                        dep_loc,
                        f"'{name}' depends on '{dep}', which is not enabled in env '{env.name}'",
                        f"enable '{dep}' or disable '{name}'",
                    )
                )

    pinned = [(so[n], s.node) for n, s in services.items()] + [
        (co[n], components[n].node) for n in sorted(enabled)
    ]
    for where, node_name in pinned:
        if node_name and node_name not in mirrored:
            problems.append(
                where.problem(
                    ("node",),
                    f"node '{node_name}' is not a "
                    f"{'mirrored ' if env.is_replica else ''}node of env "
                    f"'{env.name}'",
                    f"use one of: {', '.join(sorted(mirrored))}",
                )
            )
    return _order(enabled, components, co, problems)


def mirror_ca(root: Path, path: str) -> Path:
    """A mirror's ca_file: `~` expanded, relative paths from the repository root."""
    return (root / Path(path).expanduser()).resolve()


def _check_mirrors(root: Path, env: Env, eo: Origins, problems: list[Problem]) -> None:
    if env.provider.type != "kind":
        return
    for host, mirror in env.provider.mirrors.items():
        if mirror.ca_file and not mirror_ca(root, mirror.ca_file).is_file():
            problems.append(
                eo.problem(
                    ("provider", "mirrors", host, "ca_file"),
                    f"ca_file '{mirror.ca_file}' of the {host} mirror is not a file",
                    "point it at the PEM CA certificate that signed the mirror's certificate "
                    "(relative to the repository root, or absolute), or remove ca_file",
                )
            )


def _check_network(env: Env, eo: Origins, problems: list[Problem]) -> None:
    net = env.network
    if net.lb_pool == "auto":
        return
    first, last = address_range(net.lb_pool)
    picked: dict[str, str] = {}
    for key in ("ingress_address", "backup_ingress_address"):
        value = getattr(net, key)
        if value == "auto":
            continue
        if not first <= ipaddress.IPv4Address(value) <= last:
            problems.append(
                eo.problem(
                    ("network", key),
                    f"{key} {value} lies outside lb_pool {net.lb_pool}",
                    "pick an address inside the pool or widen the pool",
                )
            )
        if value in picked:
            problems.append(
                eo.problem(
                    ("network", key),
                    f"{key} {value} is also {picked[value]}",
                    "give each controller its own address",
                )
            )
        picked[value] = key


def _check_api_vip(env: Env, eo: Origins, problems: list[Problem]) -> None:
    """kube-vip's API address must not be one MetalLB may hand out (two ARP answers for one
    address), nor one of the ingress addresses."""
    net = env.network
    if net.api_vip is None or net.api_vip == "auto":
        return
    taken = {net.ingress_address: "ingress_address", net.backup_ingress_address: "backup"}
    if net.api_vip in taken:
        problems.append(
            eo.problem(
                ("network", "api_vip"),
                f"api_vip {net.api_vip} is also network.{taken[net.api_vip]}",
                "give kube-vip an address of its own, outside lb_pool",
            )
        )
    elif net.lb_pool != "auto":
        first, last = address_range(net.lb_pool)
        if first <= ipaddress.IPv4Address(net.api_vip) <= last:
            problems.append(
                eo.problem(
                    ("network", "api_vip"),
                    f"api_vip {net.api_vip} lies inside lb_pool {net.lb_pool}, so MetalLB "
                    "could give it to a Service as well",
                    f"pick an address outside {net.lb_pool} (or shrink the pool)",
                )
            )


def _check_dns_records(env: Env, eo: Origins, problems: list[Problem]) -> None:
    """Every record lies in the env's domain (Technitium serves only that zone), appears once,
    and points at an address the env has."""
    seen: set[str] = set()
    for index, record in enumerate(env.dns.records):
        loc: Loc = ("dns", "records", index, "name")
        bare = record.name.removeprefix("*.")
        if bare != env.domain and not bare.endswith(f".{env.domain}"):
            problems.append(
                eo.problem(
                    loc,
                    f"DNS record '{record.name}' is outside the domain {env.domain}",
                    f"name it <host>.{env.domain} (or '*.{env.domain}')",
                )
            )
        if record.name in seen:
            problems.append(
                eo.problem(loc, f"duplicate DNS record '{record.name}'", "keep one of them")
            )
        seen.add(record.name)
        if record.to == "api_vip" and env.network.api_vip is None:
            problems.append(
                eo.problem(
                    ("dns", "records", index, "to"),
                    f"record '{record.name}' points at api_vip, but network.api_vip is not set",
                    "set network.api_vip or point the record elsewhere",
                )
            )


def _order(
    enabled: set[str],
    components: dict[str, Component],
    co: dict[str, Origins],
    problems: list[Problem],
) -> list[str]:
    """Dependency order (ties broken by name, so the order is stable); cycles are errors."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = " -> ".join([*path[path.index(name) :], name])
            problems.append(
                co[name].problem(
                    ("depends_on",),
                    f"dependency cycle: {cycle}",
                    "remove one of these depends_on entries",
                )
            )
            return
        state[name] = "active"
        for dep in sorted(components[name].depends_on):
            if dep in enabled:
                visit(dep, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in sorted(enabled):
        visit(name, [])
    return order
