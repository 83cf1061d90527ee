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
    ValidationInfo,
    field_validator,
    model_validator,
)

PROFILES = ("minimal", "default", "full")
Profile = Literal["minimal", "default", "full"]
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DnsLabel = Annotated[str, Field(pattern=DNS_LABEL)]
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
# Kafka's topic name rule (clients Topic.validate): at most 249 characters of [a-zA-Z0-9._-],
# not "." or ".."; the KafkaTopic resource's name must also be a DNS subdomain, so lower case
# and not only dots.
KAFKA_TOPIC_MAX = 249
# OCI distribution spec: a repository path component is lower case.
REPOSITORY_PATH = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


class Invalid(ValueError):
    """A validator's refusal with the fix apart, so the loader prints `problem; fix`.

    An example in a fix is written in backticks and is itself a valid value of the field
    (tests feed every such example back)."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def self_assignable(key: str) -> bool:
    """Whether a kubelet may set label `key` on its own Node (see KUBELET_LABELS)."""
    namespace = key.split("/", 1)[0] if "/" in key else ""
    reserved = any(namespace == ns or namespace.endswith(f".{ns}") for ns in RESERVED_NAMESPACES)
    return (
        not reserved
        or key in KUBELET_LABELS
        or any(namespace == ns or namespace.endswith(f".{ns}") for ns in KUBELET_LABEL_NAMESPACES)
    )


# ArgoCD 3.1 added OCI Helm repositories as `repoURL: oci://...` (ArgoCD docs, "OCI").
ARGOCD_MINIMUM = (3, 1)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def ipv4(value: str, example: str = "`192.168.1.153`") -> ipaddress.IPv4Address:
    """Parse an IPv4 address; `example` is a valid value of the field being read."""
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        raise Invalid(
            f"'{value}' is not an IPv4 address", f"write four numbers, e.g. {example}"
        ) from None


def network(value: str) -> ipaddress.IPv4Network:
    """Parse a CIDR such as 192.168.1.0/24; a CIDR with host bits set is refused with the
    network it probably means."""
    try:
        return ipaddress.IPv4Network(value)
    except ValueError:
        try:
            meant = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            raise Invalid(
                f"'{value}' is not a CIDR", "write an address and a prefix, e.g. `192.168.1.0/24`"
            ) from None
        raise Invalid(
            f"'{value}' has host bits set", f"write the network address: `{meant}`"
        ) from None


def address_range(value: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """Parse `a.b.c.d-e.f.g.h` or a CIDR into first and last address."""
    pool_example = "`192.168.1.144/28` or `192.168.1.150-192.168.1.169`"
    if "-" in value:
        first, last = (ipv4(part.strip(), pool_example) for part in value.split("-", 1))
        if last < first:
            raise Invalid(
                f"range '{value}' ends before it starts", f"write low-high: `{last}-{first}`"
            )
        return first, last
    try:
        net = ipaddress.IPv4Network(value)
    except ValueError:
        try:
            meant = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            raise Invalid(
                f"'{value}' is neither a CIDR nor a range", f"write e.g. {pool_example}"
            ) from None
        start = ipaddress.IPv4Address(value.split("/")[0])
        raise Invalid(
            f"'{value}' has host bits set",
            f"write a range from that address, e.g. "
            f"`{start}-{max(start, meant.broadcast_address - 1)}`",
        ) from None
    return net[0], net[-1]


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


class Mirror(Strict):
    """An env's own mirror of one upstream registry (a corporate Harbor or Artifactory), used
    instead of the local image cache for that registry."""

    url: str = Field(
        description="the mirror's registry API root, e.g. https://harbor.example.com/v2/dockerhub"
    )
    ca_file: str | None = Field(
        default=None, description="PEM CA that signed the mirror's certificate (path, ~ allowed)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            host = re.sub(r"^[A-Za-z]+:/*", "", value.strip()).split("/")[0] or "harbor.example.com"
            raise Invalid(
                f"'{value}' is not an http(s) URL",
                f"write it with its scheme, e.g. `https://{host}`",
            )
        return value


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
            from streamforge.model.images import ImageRefError, parse

            try:
                if value != value.strip():  # parse() forgives spaces; docker and kind do not
                    raise Invalid(
                        f"'{value}' is not an image reference", "write registry/name:tag, no spaces"
                    )
                parse(value)
            except ImageRefError as exc:
                raise ValueError(str(exc)) from None
        return value


class ExistingProvider(Strict):
    type: Literal["existing"]
    context: str


class Network(Strict):
    subnet: str | None = Field(
        default=None,
        description="the nodes' subnet: the pool and addresses must lie in it; `auto` (the "
        "replica) is the docker kind network",
    )
    lb_pool: str
    ingress_address: str
    backup_ingress_address: str
    # kube-vip's virtual address of the Kubernetes API (seed 5.3); outside the MetalLB pool
    api_vip: str | None = None

    @field_validator("subnet")
    @classmethod
    def _subnet(cls, value: str | None) -> str | None:
        if value is not None and value != "auto":
            network(value)
        return value

    @field_validator("lb_pool")
    @classmethod
    def _pool(cls, value: str) -> str:
        if value != "auto":
            address_range(value)
        return value

    @field_validator("ingress_address", "backup_ingress_address", "api_vip")
    @classmethod
    def _address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value != "auto":
            examples = {"ingress_address": "`192.168.1.153`", "api_vip": "`192.168.1.140`"}
            ipv4(value, examples.get(info.field_name or "", "`192.168.1.154`"))
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

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        if re.fullmatch(r"[\d.]+", value):
            ipv4(value, "`192.168.1.6`")  # all digits and dots: meant as an address
        elif not HOST_NAME.match(value):
            raise Invalid(
                f"'{value}' is neither an IPv4 address nor a host name",
                "write e.g. `192.168.1.6` or `nfs.dmz.home`",
            )
        return value


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
    # overrides of the component's `settings` (component.yaml), key by key (model/facts.py)
    settings: dict[str, Any] = {}


class GitOps(Strict):
    """Where ArgoCD reads the rendered production env from."""

    repo: Annotated[str, Field(pattern=r"^https://")]
    revision: str = "main"
    path: str = "rendered/homelab"
    namespace: DnsLabel = "argocd"
    project: DnsLabel = "default"
    # the ArgoCD release that syncs the env: the render's source forms need 3.1+ (OCI Helm
    # charts as `oci://<repo>/<chart>` with `path: .`); validation reads its Application CRD
    argocd_version: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+$")]

    @field_validator("argocd_version")
    @classmethod
    def _new_enough(cls, value: str) -> str:
        major, minor, _ = (int(part) for part in value[1:].split("."))
        if (major, minor) < ARGOCD_MINIMUM:
            minimum = f"v{ARGOCD_MINIMUM[0]}.{ARGOCD_MINIMUM[1]}.0"
            raise Invalid(
                f"ArgoCD {value} cannot sync the rendered Applications (OCI Helm sources need "
                f"{minimum} or newer)",
                f"set the homelab's ArgoCD release, at least `{minimum}`",
            )
        return value


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

    @field_validator("image_registry")
    @classmethod
    def _registry(cls, value: str) -> str:
        host, _, path = value.partition("/")
        if not path or not all(REPOSITORY_PATH.match(part) for part in path.split("/")):
            suggestion = (
                "/".join(
                    [
                        host,
                        *(
                            p
                            for p in (
                                re.sub(r"[^a-z0-9._-]", "", p.lower()) for p in path.split("/")
                            )
                            if p
                        ),
                    ]
                )
                if path
                else f"{host}/streamforge"
            )
            raise Invalid(
                f"'{value}' is not a registry host and repository path (the path is lower "
                "case letters, digits and . _ - separators)",
                f"write e.g. `{suggestion}`",
            )
        return value

    @property
    def is_replica(self) -> bool:
        return self.provider.type == "kind"

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)


# An exact chart version (SemVer 2, as Helm requires of a chart's version); ranges and
# `latest` would make renders differ from day to day.
CHART_VERSION = r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"


class Chart(Strict):
    repo: Annotated[str, Field(pattern=r"^(https://|oci://)")]
    name: str
    version: str

    @field_validator("version")
    @classmethod
    def _exact(cls, value: str) -> str:
        if not re.match(CHART_VERSION, value):
            raise Invalid(
                f"chart version '{value}' is not an exact version",
                "pin the exact version the chart repository lists, e.g. `1.17.2`",
            )
        return value


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
    # workloads (namespace/deployment/name) that read this component's objects only when they
    # start: `up` restarts them after applying changed objects, and waits for the rollout
    restarts: list[
        Annotated[str, Field(pattern=r"^[a-z0-9-]+/(deployment|daemonset|statefulset)/[a-z0-9-]+$")]
    ] = []
    replica: ReplicaTreatment | None = None
    # production's sizes and counts its templates read as `settings.<key>`; an env overrides
    # them in `components.<name>.settings` (model/facts.py)
    settings: dict[str, Any] = {}


class KafkaTopic(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9._-]+$", max_length=KAFKA_TOPIC_MAX)]

    @field_validator("name")
    @classmethod
    def _not_dots(cls, value: str) -> str:
        if not value.strip("."):
            raise Invalid(
                f"topic name '{value}' is only dots, which Kafka or Kubernetes refuse",
                "use letters or digits, e.g. `market.ticks`",
            )
        return value

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
