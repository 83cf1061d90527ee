"""Cross-field checks of an env's nodes and provider: node names, the control plane, the
mirrored nodes and their labels, host ports, the Kubernetes version and registry mirrors.

Each check reads a `Loaded` model and appends a `Problem` (`file:line: problem; fix`) per
violation to `problems`; none raises."""

from __future__ import annotations

from pathlib import Path

from streamforge.errors import Problem
from streamforge.model import sources
from streamforge.model.checks.loaded import Loaded
from streamforge.model.schema.nodes import KUBELET_LABELS, self_assignable


def check_node_names(m: Loaded, problems: list[Problem]) -> None:
    """Every node has its own name."""
    seen: set[str] = set()
    for index, node in enumerate(m.env.nodes):
        if node.name in seen:
            problems.append(
                m.env_origins.problem(
                    ("nodes", index, "name"),
                    f"duplicate node '{node.name}'",
                    "give every node its own name",
                )
            )
        seen.add(node.name)


def check_control_plane(m: Loaded, problems: list[Problem]) -> None:
    """At least one node runs the control plane."""
    if not any(n.role == "control-plane" for n in m.env.nodes):
        problems.append(
            m.env_origins.problem(
                ("nodes",),
                "no node has role: control-plane",
                "mark at least one node role: control-plane",
            )
        )


def check_mirror_nodes(m: Loaded, problems: list[Problem]) -> None:
    """The replica's `mirror_nodes` name known workers, each once, whose labels a kubelet may
    set on its own Node (else the kind node would not start; see KUBELET_LABELS)."""
    env, eo = m.env, m.env_origins
    if env.provider.type != "kind":
        return
    node_names = [n.name for n in env.nodes]
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
            problems.extend(_unassignable_labels(m, name, node_names.index(name)))
        if name in env.provider.mirror_nodes[:index]:
            problems.append(
                eo.problem(
                    loc,
                    f"mirror_nodes lists '{name}' twice",
                    "list each node once (kind makes one worker per entry)",
                )
            )


def _unassignable_labels(m: Loaded, name: str, index: int) -> list[Problem]:
    """A problem per label of mirrored node `name` (at `nodes[index]`) its kubelet may not set."""
    node = m.env.nodes[index]
    return [
        m.env_origins.problem(
            ("nodes", index, "labels", key),
            f"label '{key}' of mirrored node '{name}' is in a "
            "kubernetes.io or k8s.io namespace the kubelet may not "
            "self-assign, so the kind node would not start",
            "use a streamforge.io/ label instead, or one the kubelet may set "
            "(node.kubernetes.io/*, kubelet.kubernetes.io/*, "
            f"{', '.join(sorted(KUBELET_LABELS))})",
        )
        for key in node.labels
        if not self_assignable(key)
    ]


def check_host_ports(m: Loaded, problems: list[Problem]) -> None:
    """The replica's host ports (HTTP, HTTPS, registry) differ from each other."""
    provider = m.env.provider
    if provider.type != "kind":
        return
    ports: dict[int, str] = {}
    for key in ("http_port", "https_port", "registry_port"):
        port = getattr(provider, key)
        if port in ports:
            problems.append(
                m.env_origins.problem(
                    ("provider", key),
                    f"{key} {port} is also {ports[port]}",
                    "give each host port its own number",
                )
            )
        ports.setdefault(port, key)


def check_kubernetes_version(m: Loaded, problems: list[Problem]) -> None:
    """The replica runs the Kubernetes of the pinned kind node image (platform/pins.yaml
    images.kind_node): the env must say so, and so must its own node_image's tag, where the
    tag says which (kind's node images are tagged with their Kubernetes version)."""
    from streamforge.model.images import parse as parse_image
    from streamforge.model.pins import PINS_FILE, pins

    env, eo = m.env, m.env_origins
    if env.provider.type != "kind":
        return
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
    own = env.provider.node_image
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
    """A mirror's ca_file as an absolute path: `~` expanded, relative paths from the
    repository `root`. Does not check that the file exists (check_mirror_ca does)."""
    return (root / Path(path).expanduser()).resolve()


def check_mirror_upstreams(m: Loaded, problems: list[Problem]) -> None:
    """No mirror stands for the replica's own registry: `up` pushes the project's images there."""
    provider = m.env.provider
    if provider.type != "kind":
        return
    own = f"localhost:{provider.registry_port}"
    if own in provider.mirrors:
        problems.append(
            m.env_origins.problem(
                ("provider", "mirrors", own),
                f"'{own}' is the replica's own registry (provider.registry_port), not an "
                "upstream: up pushes the project's images there",
                "remove this mirror",
            )
        )


def check_mirror_ca(m: Loaded, problems: list[Problem]) -> None:
    """Every mirror's ca_file is a file (see mirror_ca for how its path is read)."""
    provider = m.env.provider
    if provider.type != "kind":
        return
    for host, mirror in provider.mirrors.items():
        if mirror.ca_file and not mirror_ca(m.root, mirror.ca_file).is_file():
            problems.append(
                m.env_origins.problem(
                    ("provider", "mirrors", host, "ca_file"),
                    f"ca_file '{mirror.ca_file}' of the {host} mirror is not a file",
                    "point it at the PEM CA certificate that signed the mirror's certificate "
                    "(relative to the repository root, or absolute), or remove ca_file",
                )
            )
