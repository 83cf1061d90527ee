"""Typed models of the platform: environments, nodes, components and services.

Every model rejects unknown keys; validators raise ValueError with a message that already says
what would be right, so the loader can turn it into `file:line: problem; fix`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

PROFILES = ("minimal", "default", "full")
Profile = Literal["minimal", "default", "full"]
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DnsLabel = Annotated[str, Field(pattern=DNS_LABEL)]
# Labels kind (the kubelet) refuses to self-assign at node registration.
RESTRICTED_LABEL = re.compile(r"(^|\.)(kubernetes\.io|k8s\.io)/")
ALLOWED_RESTRICTED = re.compile(r"^(node|kubelet)\.kubernetes\.io/")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def ipv4(value: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(
            f"'{value}' is not an IPv4 address (write it like 192.168.1.153)"
        ) from None


def address_range(value: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """Parse `a.b.c.d-e.f.g.h` or a CIDR into first and last address."""
    if "-" in value:
        first, last = (ipv4(part.strip()) for part in value.split("-", 1))
        if last < first:
            raise ValueError(f"range '{value}' ends before it starts (write low-high)")
        return first, last
    try:
        net = ipaddress.IPv4Network(value)
    except ValueError:
        raise ValueError(
            f"'{value}' is neither a CIDR nor a range (write 192.168.1.150/28 or "
            "192.168.1.150-192.168.1.169)"
        ) from None
    return net[0], net[-1]


class GPUs(Strict):
    """The physical GPUs of a node (faked in the replica)."""

    count: PositiveInt
    product: Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")]
    memory_mib: PositiveInt


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


class Mirror(Strict):
    """An env's own mirror of one upstream registry (a corporate Harbor or Artifactory), used
    instead of the local image cache for that registry."""

    url: Annotated[str, Field(pattern=r"^https?://[^/\s]+(/\S*)?$")] = Field(
        description="the mirror's registry API root, e.g. https://harbor.example.com/v2/dockerhub"
    )
    ca_file: str | None = Field(
        default=None, description="PEM CA that signed the mirror's certificate (path, ~ allowed)"
    )


# A registry host as image references name it (github.com/distribution/reference domain).
REGISTRY_HOST = r"^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+)(:[0-9]+)?$"


class KindProvider(Strict):
    type: Literal["kind"]
    cluster_name: DnsLabel = "streamforge"
    mirror_nodes: list[DnsLabel] = Field(min_length=1)
    registry_port: Annotated[int, Field(ge=1024, le=65535)] = 5001
    http_port: Annotated[int, Field(ge=1, le=65535)] = 80
    https_port: Annotated[int, Field(ge=1, le=65535)] = 443
    shared_dir: str = "~/.cache/streamforge/rwx"
    node_image: str | None = Field(
        default=None,
        description="kind node image instead of the pin (STREAMFORGE_KIND_NODE_IMAGE wins)",
    )
    mirrors: dict[str, Mirror] = Field(
        default={}, description="upstream registry -> the env's own mirror of it"
    )

    @field_validator("mirrors")
    @classmethod
    def _mirrors(cls, value: dict[str, Mirror]) -> dict[str, Mirror]:
        for host in value:
            if not re.match(REGISTRY_HOST, host):
                raise ValueError(
                    f"'{host}' is not a registry host name; key each mirror by the upstream "
                    "registry it stands for, as image references name it (docker.io, quay.io, "
                    "registry.k8s.io, ghcr.io)"
                )
            if host in ("index.docker.io", "registry-1.docker.io"):
                raise ValueError(f"'{host}': write docker.io, the name images use")
        return value

    @field_validator("node_image")
    @classmethod
    def _node_image(cls, value: str | None) -> str | None:
        if value is not None:
            from streamforge.images import ImageRefError, parse

            try:
                parse(value)
            except ImageRefError as exc:
                raise ValueError(str(exc)) from None
        return value


class ExistingProvider(Strict):
    type: Literal["existing"]
    context: str


class Network(Strict):
    lb_pool: str
    ingress_address: str
    backup_ingress_address: str
    # kube-vip's virtual address of the Kubernetes API (seed 5.3); outside the MetalLB pool
    api_vip: str | None = None

    @field_validator("lb_pool")
    @classmethod
    def _pool(cls, value: str) -> str:
        if value != "auto":
            address_range(value)
        return value

    @field_validator("ingress_address", "backup_ingress_address", "api_vip")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and value != "auto":
            ipv4(value)
        return value


class DnsRecord(Strict):
    """One record Technitium serves (seed 5.5); the replica's CoreDNS rewrites follow the
    same list. `to` names an address of the model; `address` is a fixed LAN address."""

    name: Annotated[str, Field(pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    to: Literal["ingress", "backup_ingress", "api_vip"] | None = None
    address: str | None = None

    @field_validator("address")
    @classmethod
    def _fixed(cls, value: str | None) -> str | None:
        if value is not None:
            ipv4(value)
        return value

    @model_validator(mode="after")
    def _one_target(self) -> DnsRecord:
        if (self.to is None) == (self.address is None):
            raise ValueError(
                f"record '{self.name}' needs exactly one of to: (ingress, backup_ingress, "
                "api_vip) or address: (a fixed IPv4 address)"
            )
        return self


class DNS(Strict):
    records: list[DnsRecord] = []
    ttl: PositiveInt = 300


class NFS(Strict):
    server: str
    path: Annotated[str, Field(pattern=r"^/")]


class S3(Strict):
    endpoint: str
    bucket: DnsLabel = Field(description="model artefacts (GNN, PPO), seed 6.2")
    backup_bucket: DnsLabel = Field(description="backups of services and metadata, seed 6.2")
    # the address pods use (no TLS through the Gateway); `endpoint` when not set
    cluster_endpoint: str | None = None

    @property
    def in_cluster(self) -> str:
        return self.cluster_endpoint or self.endpoint


class Storage(Strict):
    rwo_class: DnsLabel
    rwx_class: DnsLabel
    nfs: NFS | None = None
    s3: S3


class ComponentSettings(Strict):
    """What an env says about one component: switch it on or off, override values."""

    enabled: bool | None = None
    # Why this env cannot run the component at all (e.g. its image cannot be had there). Unlike
    # `enabled: false`, components that depend on it still install, without the objects of
    # its API groups; `up` prints the reason, and the e2e checks that need it skip with it.
    left_out: Annotated[str, Field(min_length=10)] | None = None
    values: dict[str, Any] = {}


class GitOps(Strict):
    """Where ArgoCD reads the rendered production env from."""

    repo: Annotated[str, Field(pattern=r"^https://")]
    revision: str = "main"
    path: str = "rendered/homelab"
    namespace: DnsLabel = "argocd"
    project: DnsLabel = "default"


class Env(Strict):
    name: DnsLabel
    description: str
    provider: Annotated[KindProvider | ExistingProvider, Field(discriminator="type")]
    kubernetes_version: Annotated[str, Field(pattern=r"^v1\.\d+\.\d+$")]
    domain: Annotated[str, Field(pattern=r"^[a-z0-9.-]+\.[a-z]+$")]
    profile: Profile = "default"
    network: Network
    storage: Storage
    nodes: list[Node] = Field(min_length=1)
    components: dict[str, ComponentSettings] = {}
    gitops: GitOps | None = None
    dns: DNS = DNS()
    image_registry: str = Field(description="where the project's own images are pushed")

    @property
    def is_replica(self) -> bool:
        return self.provider.type == "kind"

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)


class Chart(Strict):
    repo: Annotated[str, Field(pattern=r"^(https://|oci://)")]
    name: str
    version: Annotated[str, Field(min_length=1)]


class ReplicaTreatment(Strict):
    """How the replica treats a component that does not run there as it is (parity page)."""

    stand_in: DnsLabel | None = Field(default=None, description="component standing in for it")
    reason: str = Field(min_length=1)


class Component(Strict):
    """platform/components/<name>/component.yaml"""

    name: DnsLabel
    description: str
    namespace: DnsLabel
    namespace_labels: dict[str, str] = {}
    chart: Chart | None = None
    profile: Profile = "minimal"
    runs_in: list[Literal["replica", "production"]] = ["replica", "production"]
    depends_on: list[DnsLabel] = []
    node: DnsLabel | None = Field(default=None, description="homelab node it is pinned to")
    docs: str = ""
    wait_seconds: PositiveInt = 300
    # API groups whose CRDs it installs: an env that leaves it out drops such objects
    api_groups: list[str] = []
    replica: ReplicaTreatment | None = None


class KafkaTopic(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9._-]+$")]
    partitions: PositiveInt = 1
    replicas: PositiveInt = 1


class ServiceKafka(Strict):
    user: DnsLabel | None = None
    topics: list[KafkaTopic] = []
    consumes: list[str] = []


class Volume(Strict):
    name: DnsLabel
    class_: Literal["rwo", "rwx"] = Field(alias="class")
    size: Annotated[str, Field(pattern=r"^\d+(Mi|Gi|Ti)$")]
    mount: Annotated[str, Field(pattern=r"^/")]


class Service(Strict):
    """services/<name>/service.yaml"""

    name: DnsLabel
    description: str
    owner: str
    port: Annotated[int, Field(ge=1024, le=65535)] = 8080
    host: DnsLabel | None = None
    kafka: ServiceKafka = ServiceKafka()
    gpus: Annotated[int, Field(ge=0)] = 0
    volumes: list[Volume] = []
    node: DnsLabel | None = None

    @property
    def hostname(self) -> str:
        return self.host or self.name
