"""What every template sees, and the env facts that are only known at `up` time."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from streamforge.errors import ModelError, Problem, StreamforgeError
from streamforge.model import facts as model_facts
from streamforge.model.checks.network import check_pool
from streamforge.model.load import HOMELAB_NODE_LABEL, Platform
from streamforge.model.schema.addresses import address_range
from streamforge.model.sources import Origins, display_path
from streamforge.render import dns, image_refs

# The kind network's usual subnet; `up` passes the real one read from Docker.
DEFAULT_KIND_SUBNET = "172.18.0.0/16"
# Addresses at the bottom of the kind network left to docker for the node and registry
# containers; the `auto` pool starts above them, at most 50 below the top.
CONTAINER_ADDRESSES = 16
MIN_POOL = 2  # Traefik's and ingress-nginx's addresses


def kind_subnet(value: str) -> ipaddress.IPv4Network:
    """The docker kind network's subnet, checked to hold the nodes and an `auto` pool.

    Raises StreamforgeError naming the value and the fix."""
    try:
        subnet = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        raise StreamforgeError(
            f"kind subnet '{value}' is not an IPv4 subnet; write it like 172.18.0.0/16 "
            "(`docker network inspect kind` shows it)"
        ) from None
    if _auto_pool(subnet) is None:
        raise StreamforgeError(
            f"kind subnet '{value}' is too small for the nodes and a load-balancer pool; "
            f"use a /{_largest_prefix()} or larger "
            "(docker's default for kind is a /16)"
        )
    return subnet


def _largest_prefix() -> int:
    return max(
        p for p in range(1, 33) if _auto_pool(ipaddress.IPv4Network(f"10.0.0.0/{p}", strict=False))
    )


def _auto_pool(subnet: ipaddress.IPv4Network) -> str | None:
    """The top of `subnet` (below the last few addresses), or None if it is too small."""
    last = int(subnet.broadcast_address) - 5
    first = max(last - 50, int(subnet.network_address) + 1 + CONTAINER_ADDRESSES)
    if last - first + 1 < MIN_POOL:
        return None
    return f"{ipaddress.IPv4Address(first)}-{ipaddress.IPv4Address(last)}"


@dataclass(frozen=True)
class Facts:
    """Inputs to a render that come from the machine, not from the repository."""

    kind_subnet: str = DEFAULT_KIND_SUBNET
    # the host folder behind the RWX class; `up` passes the expanded path
    rwx_host_dir: str | None = None
    # Docker's CgroupVersion (`docker info`): kubelet refuses cgroup v1 unless told not to
    cgroup_version: int = 2
    # STREAMFORGE_KIND_NODE_IMAGE, read by `up`: beats provider.node_image and the pin
    node_image: str | None = None


@dataclass
class Rendered:
    files: dict[str, str] = field(default_factory=dict)
    # per component: its values and objects, for the plan, validation and the parity report
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # the env's load-balancer pool and ingress addresses, `auto` resolved with the facts
    addresses: Addresses | None = None


@dataclass(frozen=True)
class Addresses:
    lb_pool: str
    ingress_address: str
    backup_ingress_address: str


def addresses(platform: Platform, facts: Facts) -> Addresses:
    """Resolve `auto` addresses: a pool at the top of the kind subnet, as kind's docs do.

    In the replica, a pool the env names must lie in the kind subnet (raises ModelError)."""
    net = platform.env.network
    pool = net.lb_pool
    if platform.env.is_replica:
        subnet = kind_subnet(facts.kind_subnet)
        if pool == "auto":
            pool = _auto_pool(subnet) or ""
        else:
            problems: list[Problem] = []
            check_pool(pool, str(subnet), platform.origins.get("env", Origins()), problems)
            if problems:
                raise ModelError(problems)
    first_ip, _ = address_range(pool)
    ingress = net.ingress_address if net.ingress_address != "auto" else str(first_ip)
    backup = (
        net.backup_ingress_address if net.backup_ingress_address != "auto" else str(first_ip + 1)
    )
    return Addresses(pool, ingress, backup)


def dump(data: Any) -> str:
    """Deterministic YAML: keys in the order written, block style, no line folding."""
    import io

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def dump_all(documents: list[Any]) -> str:
    return "".join(f"---\n{dump(doc)}" for doc in documents)


class Templates:
    """Jinja templates of a platform, rendered with the env's context into YAML data."""

    def __init__(self, platform: Platform, facts: Facts) -> None:
        self.platform = platform
        env = platform.env
        self.addresses = addresses(platform, facts)
        gpu_nodes = [n for n in env.nodes if n.gpus and self.runs(n.name)]
        self.context: dict[str, Any] = {
            "env": env,
            "domain": env.domain,
            "net": self.addresses,
            "storage": env.storage,
            "gpu_nodes": gpu_nodes,
            "services": platform.services,
            # the Kafka cluster: name, namespace, bootstrap, brokers, ca_secret (model/facts.py)
            "kafka": model_facts.kafka(platform),
            # whether a homelab node exists in this env (the replica has only mirrored ones)
            "runs": self.runs,
            # names of the enabled components, e.g. `{% if "keycloak" in enabled %}`
            "enabled": platform.enabled,
            # the replica's CoreDNS rewrites, from the same list as production's DNS records
            "dns_rewrites": dns.coredns_rewrites(env),
            "node_selector": lambda name: {HOMELAB_NODE_LABEL: name},
            "HOMELAB_NODE_LABEL": HOMELAB_NODE_LABEL,
            "read": self.read,
            "local_image": self.local_image,
            "docs_site_image": self.docs_site_image,
        }
        self.jinja = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(platform.root)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        self.jinja.filters["json"] = lambda value: json.dumps(value, sort_keys=False)

    def read(self, rel: str) -> str:
        return (self.platform.root / rel).read_text(encoding="utf-8")

    def local_image(self, name: str, source: str) -> str:
        """A project image, tagged with the content hash of its source folder."""
        return image_refs.project_image(self.platform, name, self.platform.root / source)

    def docs_site_image(self) -> str:
        """The docs site image, tagged by everything the built site is made from."""
        # the docs site runs only in the replica, FROM the base image
        return image_refs.site_image(self.platform)

    def runs(self, node_name: str) -> bool:
        env = self.platform.env
        return env.provider.type != "kind" or node_name in env.provider.mirror_nodes

    def render(self, path: Path, **extra: Any) -> list[Any]:
        """Render one template file; return its YAML documents (empty ones dropped)."""
        rel = path.relative_to(self.platform.root).as_posix()
        try:
            text = self.jinja.get_template(rel).render(**self.context, **extra)
        except jinja2.UndefinedError as exc:
            raise ModelError(
                [
                    Problem(
                        display_path(path),
                        0,
                        f"template uses {exc.message}",
                        "use a name the render context has (see docs)",
                    )
                ]
            ) from exc
        except jinja2.TemplateSyntaxError as exc:
            raise ModelError(
                [
                    Problem(
                        display_path(path),
                        exc.lineno,
                        f"template error: {exc.message}",
                        "fix the Jinja syntax",
                    )
                ]
            ) from exc
        try:
            docs = list(YAML(typ="safe", pure=True).load_all(text))
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            raise ModelError(
                [
                    Problem(
                        display_path(path),
                        line,
                        f"renders to invalid YAML: {getattr(exc, 'problem', exc)}",
                        "check the template's indentation and quoting",
                    )
                ]
            ) from exc
        return [doc for doc in docs if doc is not None]
