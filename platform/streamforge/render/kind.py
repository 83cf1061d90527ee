"""The kind cluster config: one control plane, one worker per mirrored homelab node."""

from __future__ import annotations

from typing import Any

from streamforge.model.load import Platform
from streamforge.model.pins import pins
from streamforge.model.schema.provider import KindProvider
from streamforge.render.context import Facts, dump

# Where the host folder that backs the RWX class is mounted in every node.
RWX_NODE_PATH = "/var/local/streamforge-rwx"
REGISTRY_NAME = "streamforge-registry"


# kubelet 1.35+ refuses to start on a cgroup v1 host unless its configuration sets this
# (KubeletConfiguration `failCgroupV1`, KEP-4569, true by default since 1.35); kind v0.32 only
# warns about v1.
CGROUP_V1_PATCH = "kind: KubeletConfiguration\nfailCgroupV1: false\n"


def node_image(provider: KindProvider, facts: Facts) -> str:
    """The kind node image: STREAMFORGE_KIND_NODE_IMAGE (passed in as a fact), else the env's
    provider.node_image, else the digest pin in platform/pins.yaml."""
    return facts.node_image or provider.node_image or pins().images["kind_node"]


def _port(container: int, host: int) -> dict[str, Any]:
    return {
        "containerPort": container,
        "hostPort": host,
        "listenAddress": "127.0.0.1",
        "protocol": "TCP",
    }


def _control_plane(
    provider: KindProvider, image: str, mounts: list[dict[str, str]]
) -> dict[str, Any]:
    """The control-plane node: it runs the ingress, so it maps the HTTP(S) host ports."""
    return {
        "role": "control-plane",
        "image": image,
        "labels": {"ingress-ready": "true", "streamforge.io/role": "control-plane"},
        "extraPortMappings": [_port(80, provider.http_port), _port(443, provider.https_port)],
        "extraMounts": mounts,
    }


def _worker(
    platform: Platform, name: str, image: str, mounts: list[dict[str, str]]
) -> dict[str, Any]:
    """The worker that mirrors homelab node `name`: its labels and its taints."""
    node = platform.env.node(name)
    assert node is not None
    worker: dict[str, Any] = {
        "role": "worker",
        "image": image,
        "labels": platform.node_labels(name),
        "extraMounts": mounts,
    }
    if node.taints:
        taints = [{"key": t.key, "value": t.value, "effect": t.effect} for t in node.taints]
        worker["kubeadmConfigPatches"] = [
            dump({"kind": "JoinConfiguration", "nodeRegistration": {"taints": taints}})
        ]
    return worker


def render(platform: Platform, facts: Facts) -> str:
    """The kind cluster config (YAML) of `platform`'s kind env with `facts`: a control plane
    and one worker per `mirror_nodes` entry, all mounting the RWX host folder."""
    provider = platform.env.provider
    assert isinstance(provider, KindProvider)
    image = node_image(provider, facts)
    mounts = [
        {"hostPath": facts.rwx_host_dir or provider.shared_dir, "containerPath": RWX_NODE_PATH}
    ]
    nodes = [_control_plane(provider, image, mounts)]
    nodes.extend(_worker(platform, name, image, mounts) for name in provider.mirror_nodes)
    config: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": provider.cluster_name,
        "networking": {"apiServerAddress": "127.0.0.1"},
        # containerd reads registry mirrors from certs.d, where `up` points localhost:<port>
        # at the local registry container (kind's local-registry recipe).
        "containerdConfigPatches": [
            '[plugins."io.containerd.grpc.v1.cri".registry]\n'
            '  config_path = "/etc/containerd/certs.d"'
        ],
        "nodes": nodes,
    }
    if facts.cgroup_version == 1:
        config["kubeadmConfigPatches"] = [CGROUP_V1_PATCH]
    return dump(config)
