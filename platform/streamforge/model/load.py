"""Load and check the whole model: an env file (and the env it extends), every component and
every service. All problems are collected and raised together as one ModelError."""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from streamforge.errors import ModelError, Problem
from streamforge.model import sources
from streamforge.model.explain import validate
from streamforge.model.schema import (
    KUBELET_LABELS,
    PROFILES,
    Component,
    Env,
    Service,
    address_range,
    network,
    self_assignable,
)
from streamforge.model.sources import Loc, Origins

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
    _check_services(root, env, env_origins, services, svc_origins, problems)
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
    env = validate(Env, data, origins, problems)
    if env is not None and env.name != name:
        problems.append(
            origins.problem(
                ("name",),
                f"name '{env.name}' differs from the file name '{name}.yaml'",
                f"write name: {name} (or rename the file to {env.name}.yaml)",
            )
        )
    return env, origins


def _load_all(
    folder: Path, filename: str, model: type[BaseModel], problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, Origins]]:
    items: dict[str, Any] = {}
    all_origins: dict[str, Origins] = {}
    for path in sorted(folder.glob(f"*/{filename}")):
        data, origins = sources.load(path)
        item = validate(model, data, origins, problems)
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
                    if not self_assignable(key):
                        n_loc = ("nodes", node_names.index(name), "labels", key)
                        problems.append(
                            eo.problem(
                                n_loc,
                                f"label '{key}' of mirrored node '{name}' is in a "
                                "kubernetes.io or k8s.io namespace the kubelet may not "
                                "self-assign, so the kind node would not start",
                                "use a streamforge.io/ label instead, or one the kubelet may set "
                                "(node.kubernetes.io/*, kubelet.kubernetes.io/*, "
                                f"{', '.join(sorted(KUBELET_LABELS))})",
                            )
                        )
            if name in env.provider.mirror_nodes[:index]:
                problems.append(
                    eo.problem(
                        loc,
                        f"mirror_nodes lists '{name}' twice",
                        "list each node once (kind makes one worker per entry)",
                    )
                )
        ports: dict[int, str] = {}
        for key in ("http_port", "https_port", "registry_port"):
            port = getattr(env.provider, key)
            if port in ports:
                problems.append(
                    eo.problem(
                        ("provider", key),
                        f"{key} {port} is also {ports[port]}",
                        "give each host port its own number",
                    )
                )
            ports.setdefault(port, key)
        _check_kubernetes_version(env, eo, problems)

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


def _check_kubernetes_version(env: Env, eo: Origins, problems: list[Problem]) -> None:
    """The replica runs the Kubernetes of the pinned kind node image: the env must say so."""
    from streamforge.model.images import parse as parse_image
    from streamforge.model.pins import PINS_FILE, pins

    tag = parse_image(pins().images["kind_node"]).tag or ""
    if env.kubernetes_version != tag:
        problems.append(
            eo.problem(
                ("kubernetes_version",),
                f"kubernetes_version {env.kubernetes_version} is not what the kind node image "
                f"pinned in {sources.display_path(PINS_FILE)} runs ({tag})",
                f"write kubernetes_version: {tag}, or pin a kindest/node image of "
                f"{env.kubernetes_version} (images.kind_node)",
            )
        )
    # an env's own node image (a mirror or a local build) must run that version too, where
    # its tag says which (kind's node images are tagged with their Kubernetes version)
    own = env.provider.node_image if env.provider.type == "kind" else None
    own_tag = (parse_image(own).tag or "") if own else ""
    if own and own_tag.startswith("v1.") and own_tag != env.kubernetes_version:
        problems.append(
            eo.problem(
                ("provider", "node_image"),
                f"node_image {own} runs Kubernetes {own_tag}, not kubernetes_version "
                f"{env.kubernetes_version}",
                f"use a node image of {env.kubernetes_version}, or remove node_image",
            )
        )


def mirror_ca(root: Path, path: str) -> Path:
    """A mirror's ca_file: `~` expanded, relative paths from the repository root."""
    return (root / Path(path).expanduser()).resolve()


def _check_mirrors(root: Path, env: Env, eo: Origins, problems: list[Problem]) -> None:
    if env.provider.type != "kind":
        return
    own = f"localhost:{env.provider.registry_port}"
    for host, mirror in env.provider.mirrors.items():
        if host == own:
            problems.append(
                eo.problem(
                    ("provider", "mirrors", host),
                    f"'{own}' is the replica's own registry (provider.registry_port), not an "
                    "upstream: up pushes the project's images there",
                    "remove this mirror",
                )
            )
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
    """Addresses of a production env (the replica's are checked against the docker kind
    network at render time): inside the nodes' subnet, not its network or broadcast address,
    each used once."""
    net = env.network
    if not env.is_replica:
        for key in ("subnet", "lb_pool", "ingress_address", "backup_ingress_address", "api_vip"):
            if getattr(net, key) == "auto":
                problems.append(
                    eo.problem(
                        ("network", key),
                        f"network.{key}: auto is only for the kind replica (carved from the "
                        "docker kind network); this env has no such network",
                        "write the address (see network in envs/homelab.yaml)",
                    )
                )
        if "auto" in (net.subnet, net.lb_pool):
            return
    if net.lb_pool == "auto":
        return
    first, last = address_range(net.lb_pool)
    if not (env.is_replica and net.subnet in (None, "auto")):  # else: at render, with the kind net
        check_pool(net.lb_pool, net.subnet, eo, problems)
    server = env.storage.nfs.server if env.storage.nfs else None
    if server and server.replace(".", "").isdigit():
        address = ipaddress.IPv4Address(server)
        if first <= address <= last:
            problems.append(
                eo.problem(
                    ("storage", "nfs", "server"),
                    f"NFS server {server} lies inside lb_pool {net.lb_pool}, so MetalLB could "
                    "hand its address to a Service",
                    "move the pool or the server so they do not overlap",
                )
            )
        if net.subnet is not None and net.subnet != "auto" and address not in network(net.subnet):
            problems.append(
                eo.problem(
                    ("storage", "nfs", "server"),
                    f"NFS server {server} is outside the nodes' subnet {net.subnet}",
                    "correct the address or network.subnet",
                )
            )
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


def check_pool(pool: str, subnet: str | None, where: Origins, problems: list[Problem]) -> None:
    """`pool` (and the ingress addresses, already inside it) must lie in `subnet` and hold
    neither its network nor its broadcast address (a CIDR pool is its own subnet when none is
    given): MetalLB would otherwise hand out an address no host can answer on."""
    first, last = address_range(pool)
    if subnet is None or subnet == "auto":
        if "/" not in pool:
            return
        net = network(pool)
    else:
        net = network(subnet)
        if not (first in net and last in net):
            problems.append(
                where.problem(
                    ("network", "lb_pool"),
                    f"lb_pool {pool} is not inside the nodes' subnet {net}",
                    "pick a pool inside it (MetalLB L2 answers only on the nodes' network)",
                )
            )
            return
    if net.prefixlen < 31 and (first == net.network_address or last == net.broadcast_address):
        inner = f"{net.network_address + 1}-{net.broadcast_address - 1}"
        hint = f"`{max(first, net.network_address + 1)}-{min(last, net.broadcast_address - 1)}`"
        problems.append(
            where.problem(
                ("network", "lb_pool"),
                f"lb_pool {pool} includes the network or broadcast address of {net}",
                f"use addresses in {inner} only, e.g. {hint}",
            )
        )


def _check_services(
    root: Path,
    env: Env,
    eo: Origins,
    services: dict[str, Service],
    so: dict[str, Origins],
    problems: list[Problem],
) -> None:
    """What two services may not share (host name, Kafka topic), and GPU requests the env's
    nodes and the GPU time-slicing config can serve."""
    hosts: dict[str, str] = {}
    topics: dict[str, str] = {}
    for name, svc in sorted(services.items()):
        if svc.hostname in hosts:
            problems.append(
                so[name].problem(
                    ("host",) if svc.host else ("name",),
                    f"host '{svc.hostname}' is also the host of service '{hosts[svc.hostname]}'",
                    f"set host: to a name of its own, e.g. `{name}-api`",
                )
            )
        hosts.setdefault(svc.hostname, name)
        for index, topic in enumerate(svc.kafka.topics):
            if topic.name in topics:
                first = topics[topic.name]
                owner = "this service" if first == name else f"service '{first}'"
                problems.append(
                    so[name].problem(
                        ("kafka", "topics", index, "name"),
                        f"topic '{topic.name}' is also declared by {owner}",
                        "declare a topic in one service; others list it under kafka.consumes",
                    )
                )
            topics.setdefault(topic.name, name)
    runs = set(env.provider.mirror_nodes) if env.provider.type == "kind" else None
    gpu_nodes = [n for n in env.nodes if n.gpus and (runs is None or n.name in runs)]
    limit = _gpu_request_limit(root)
    for name, svc in sorted(services.items()):
        if not svc.gpus:
            continue
        if not gpu_nodes:
            problems.append(
                so[name].problem(
                    ("gpus",),
                    f"requests {svc.gpus} GPU(s) but env '{env.name}' has no "
                    f"{'mirrored ' if runs is not None else ''}node with gpus",
                    "set gpus: 0, or give the env a GPU node"
                    + (" and list it in provider.mirror_nodes" if runs is not None else ""),
                )
            )
        elif limit is not None and svc.gpus > limit:
            problems.append(
                so[name].problem(
                    ("gpus",),
                    f"requests {svc.gpus} GPUs but GPU time-slicing refuses requests over "
                    f"{limit} (failRequestsGreaterThanOne in {TIME_SLICING})",
                    f"request gpus: {limit}",
                )
            )


# The one time-slicing config (NVIDIA device plugin format), read by production and replica.
TIME_SLICING = "platform/components/gpu-operator/time-slicing.yaml"


def _gpu_request_limit(root: Path) -> int | None:
    """1 when time-slicing refuses requests over one GPU (the device plugin's
    failRequestsGreaterThanOne), else None."""
    path = root / TIME_SLICING
    if not path.is_file():
        return None
    data, _ = sources.load(path)
    sharing = (data or {}).get("sharing", {}).get("timeSlicing", {})
    return 1 if sharing.get("failRequestsGreaterThanOne") else None


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
