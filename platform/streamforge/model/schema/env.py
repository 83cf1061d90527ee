"""An env file (envs/<name>.yaml): its network, DNS, storage, GitOps source and component
settings, with the provider and nodes of the modules beside it."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from streamforge.model.schema.addresses import address_range, ipv4, network
from streamforge.model.schema.base import DnsLabel, Invalid, Profile, Strict
from streamforge.model.schema.nodes import Node
from streamforge.model.schema.provider import ExistingProvider, KindProvider

# OCI distribution spec: a repository path component is lower case.
REPOSITORY_PATH = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


# ArgoCD 3.1 added OCI Helm repositories as `repoURL: oci://...` (ArgoCD docs, "OCI").
ARGOCD_MINIMUM = (3, 1)


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
