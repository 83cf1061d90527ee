"""The nodes of an env: their role, labels, taints, GPUs and Proxmox VM."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt

from streamforge.model.schema.base import DnsLabel, Strict

# The labels a kubelet may set on its own Node (`--node-labels`, which kind's node `labels`
# become): k8s.io/kubelet/pkg/apis well_known_labels.go (kubeletLabels and
# kubeletLabelNamespaces, used by IsKubeletLabel); the kubelet refuses any other label in a
# kubernetes.io or k8s.io namespace (cmd/kubelet/app/options, ValidateKubeletFlags).
KUBELET_LABELS = frozenset(
    {
        "kubernetes.io/hostname",
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
    }
)
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
RESERVED_NAMESPACES = ("kubernetes.io", "k8s.io")
# Beyond any real machine (an 8- or 16-GPU server; the largest GPU has 288 GiB): a typo.
MAX_GPUS_PER_NODE = 16
MAX_GPU_MEMORY_MIB = 288 * 1024


def self_assignable(key: str) -> bool:
    """Whether a kubelet may set label `key` on its own Node (see KUBELET_LABELS)."""
    namespace = key.split("/", 1)[0] if "/" in key else ""
    reserved = any(namespace == ns or namespace.endswith(f".{ns}") for ns in RESERVED_NAMESPACES)
    return (
        not reserved
        or key in KUBELET_LABELS
        or any(namespace == ns or namespace.endswith(f".{ns}") for ns in KUBELET_LABEL_NAMESPACES)
    )


class GPUs(Strict):
    """The physical GPUs of a node (faked in the replica)."""

    count: Annotated[int, Field(ge=1, le=MAX_GPUS_PER_NODE)]
    product: Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")]
    memory_mib: Annotated[int, Field(ge=1, le=MAX_GPU_MEMORY_MIB)]


class Taint(Strict):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class VM(Strict):
    """The Proxmox VE virtual machine a homelab node runs in (seed 5.1)."""

    cores: PositiveInt
    memory_gib: PositiveInt
    disk_gib: PositiveInt


class Node(Strict):
    name: DnsLabel
    role: Literal["control-plane", "worker"] = "worker"
    labels: dict[str, str] = {}
    taints: list[Taint] = []
    gpus: GPUs | None = None
    runs: list[str] = Field(default=[], description="what the seed pins to this node, for docs")
    vm: VM | None = Field(default=None, description="its Proxmox VM, for the VM table")
