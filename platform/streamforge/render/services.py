"""From a service's model (services/<name>/service.yaml) and the env to the values of the common
chart (platform/charts/service): what `render` writes to values/services/<name>.yaml and what
`deploy` and `up` install.

The platform derives everything it can (image, host, Kafka user and topics, GPUs, volumes with
the env's storage classes, node pin); services/<name>/values.yaml adds the service's own
choices (replicas, resources, env) on top.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamforge.errors import ModelError, Problem
from streamforge.model import facts
from streamforge.model.load import HOMELAB_NODE_LABEL, Platform
from streamforge.model.schema.service import Service
from streamforge.model.sources import deep_merge, display_path
from streamforge.render import image_refs

CHART = Path("platform") / "charts" / "service"
# Strimzi's operators watch the namespace of the Kafka cluster, and write each KafkaUser's
# secret there; services run in it so they can mount that secret and the cluster CA. The
# cluster, its namespace and bootstrap address come from the model (model/facts.py `kafka`);
# NAMESPACE is the strimzi component's namespace for the callers that have no platform at hand
# (a test checks it matches).
NAMESPACE = "kafka"
KAFKA_API = "kafka.strimzi.io/v1"
ACCESS_MODES = {"rwo": "ReadWriteOnce", "rwx": "ReadWriteMany"}


def own_values(platform: Platform, name: str) -> dict[str, Any]:
    """services/<name>/values.yaml: the service's own choices (may be absent)."""
    from streamforge.model import sources

    path = platform.service_dir(name) / "values.yaml"
    if not path.is_file():
        return {}
    data, _ = sources.load(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModelError(
            [Problem(display_path(path), 1, "values must be a mapping", "write key: value lines")]
        )
    return data


def chart_values(platform: Platform, service: Service) -> dict[str, Any]:
    env = platform.env
    kafka = facts.kafka(platform)
    repository, _, tag = image_refs.service_image(platform, service.name).rpartition(":")
    kafka_used = bool(service.kafka.user or service.kafka.topics or service.kafka.consumes)
    # where the env leaves Strimzi out, the service deploys without its KafkaUser/KafkaTopics
    kafka_used = kafka_used and not platform.left_out_api(KAFKA_API)
    values: dict[str, Any] = {
        "name": service.name,
        "image": {"repository": repository, "tag": tag},
        "port": service.port,
        "route": {"enabled": True, "host": service.hostname, "domain": env.domain},
        "kafka": {
            "enabled": kafka_used,
            "cluster": kafka.name,
            "namespace": kafka.namespace,
            "bootstrapServers": kafka.bootstrap,
            "user": service.kafka.user or service.name,
            "topics": [
                {
                    "name": topic.name,
                    "partitions": topic.partitions,
                    # no more replicas than the env's brokers (one in the replica)
                    "replicas": min(topic.replicas, kafka.brokers),
                }
                for topic in service.kafka.topics
            ],
            "consumes": list(service.kafka.consumes),
        },
        "gpus": service.gpus,
        "volumes": [
            {
                "name": volume.name,
                "storageClass": env.storage.rwo_class
                if volume.class_ == "rwo"
                else env.storage.rwx_class,
                "accessMode": ACCESS_MODES[volume.class_],
                "size": volume.size,
                "mountPath": volume.mount,
            }
            for volume in service.volumes
        ],
        "nodeSelector": {HOMELAB_NODE_LABEL: service.node} if service.node else {},
    }
    if service.gpus:
        values["gpuTolerations"] = gpu_tolerations(platform)
    return deep_merge(values, own_values(platform, service.name))


def gpu_tolerations(platform: Platform) -> list[dict[str, str]]:
    """Tolerations for the taints of the env's GPU nodes (the chart's default if none)."""
    found: list[dict[str, str]] = []
    for node in platform.env.nodes:
        if not node.gpus:
            continue
        for taint in node.taints:
            toleration = {"key": taint.key, "operator": "Exists", "effect": taint.effect}
            if toleration not in found:
                found.append(toleration)
    return found or [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def check_hosts(platform: Platform, component_objects: dict[str, list[dict[str, Any]]]) -> None:
    """Refuse a service whose host name a component's HTTPRoute already serves (`docs` is the
    docs site's): Traefik would route the name to one of them at random.

    Raises ModelError at the service's `host:` line."""
    taken: dict[str, str] = {}
    for component, objects in component_objects.items():
        for obj in objects:
            if obj.get("kind") == "HTTPRoute":
                for host in obj.get("spec", {}).get("hostnames", []):
                    taken.setdefault(host, component)
    problems = []
    domain = platform.env.domain
    for name, service in sorted(platform.services.items()):
        full = f"{service.hostname}.{domain}"
        if full in taken:
            where = platform.origins.get(f"service:{name}")
            file, line = (
                where.locate(("host",) if service.host else ("name",))
                if where
                else (display_path(platform.service_dir(name) / "service.yaml"), 0)
            )
            problems.append(
                Problem(
                    file,
                    line,
                    f"host '{service.hostname}' ({full}) is already served by component "
                    f"'{taken[full]}'",
                    f"set host: to a name of its own, e.g. `{name}-svc`",
                )
            )
    if problems:
        raise ModelError(problems)


def all_values(platform: Platform) -> dict[str, dict[str, Any]]:
    return {name: chart_values(platform, svc) for name, svc in sorted(platform.services.items())}


def render_files(platform: Platform) -> dict[str, str]:
    """{values/services/<name>.yaml: text} for the render output."""
    from streamforge.render.context import dump

    return {
        f"values/services/{name}.yaml": dump(values)
        for name, values in all_values(platform).items()
    }
