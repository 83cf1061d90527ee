"""Cross-field checks of the project's services: what two services may not share (host name,
Kafka topic) and GPU requests the env's nodes and the GPU time-slicing config can serve.

Each check appends a `Problem` (`file:line: problem; fix`) per violation to `problems`; none
raises."""

from __future__ import annotations

from pathlib import Path

from streamforge.errors import Problem
from streamforge.model import sources
from streamforge.model.checks.loaded import Loaded

# The one time-slicing config (NVIDIA device plugin format), read by production and replica.
TIME_SLICING = "platform/components/gpu-operator/time-slicing.yaml"


def check_hosts(m: Loaded, problems: list[Problem]) -> None:
    """Each service has a host name of its own (the first one, by name, keeps it)."""
    hosts: dict[str, str] = {}
    for name, svc in sorted(m.services.items()):
        if svc.hostname in hosts:
            problems.append(
                m.service_origins[name].problem(
                    ("host",) if svc.host else ("name",),
                    f"host '{svc.hostname}' is also the host of service '{hosts[svc.hostname]}'",
                    f"set host: to a name of its own, e.g. `{name}-api`",
                )
            )
        hosts.setdefault(svc.hostname, name)


def check_topics(m: Loaded, problems: list[Problem]) -> None:
    """Each Kafka topic is declared once, by one service; the others consume it."""
    topics: dict[str, str] = {}
    for name, svc in sorted(m.services.items()):
        for index, topic in enumerate(svc.kafka.topics):
            if topic.name in topics:
                first = topics[topic.name]
                owner = "this service" if first == name else f"service '{first}'"
                problems.append(
                    m.service_origins[name].problem(
                        ("kafka", "topics", index, "name"),
                        f"topic '{topic.name}' is also declared by {owner}",
                        "declare a topic in one service; others list it under kafka.consumes",
                    )
                )
            topics.setdefault(topic.name, name)


def check_gpus(m: Loaded, problems: list[Problem]) -> None:
    """A service that requests GPUs has a node with GPUs to run on (in the replica: a
    mirrored one), and requests no more than GPU time-slicing grants (gpu_request_limit)."""
    env = m.env
    runs = set(env.provider.mirror_nodes) if env.provider.type == "kind" else None
    gpu_nodes = [n for n in env.nodes if n.gpus and (runs is None or n.name in runs)]
    limit = gpu_request_limit(m.root)
    for name, svc in sorted(m.services.items()):
        if not svc.gpus:
            continue
        if not gpu_nodes:
            problems.append(
                m.service_origins[name].problem(
                    ("gpus",),
                    f"requests {svc.gpus} GPU(s) but env '{env.name}' has no "
                    f"{'mirrored ' if runs is not None else ''}node with gpus",
                    "set gpus: 0, or give the env a GPU node"
                    + (" and list it in provider.mirror_nodes" if runs is not None else ""),
                )
            )
        elif limit is not None and svc.gpus > limit:
            problems.append(
                m.service_origins[name].problem(
                    ("gpus",),
                    f"requests {svc.gpus} GPUs but GPU time-slicing refuses requests over "
                    f"{limit} (failRequestsGreaterThanOne in {TIME_SLICING})",
                    f"request gpus: {limit}",
                )
            )


def gpu_request_limit(root: Path) -> int | None:
    """1 when the time-slicing config under `root` refuses requests over one GPU (the NVIDIA
    device plugin's failRequestsGreaterThanOne), else None (also when there is no config).
    A YAML error in it raises ModelError."""
    path = root / TIME_SLICING
    if not path.is_file():
        return None
    data, _ = sources.load(path)
    sharing = (data or {}).get("sharing", {}).get("timeSlicing", {})
    return 1 if sharing.get("failRequestsGreaterThanOne") else None
