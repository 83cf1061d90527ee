"""The cross-field checks of a loaded model: one named function per rule, grouped by what
they read (cluster: nodes and provider; network: addresses and DNS; components; services).

`check_all` runs every rule and returns the enabled components in dependency order; the
problems it finds are appended to `problems` (the loader raises them together)."""

from __future__ import annotations

from collections.abc import Callable

from streamforge.errors import Problem
from streamforge.model.checks import cluster, components, network, services
from streamforge.model.checks.loaded import Loaded

Rule = Callable[[Loaded, list[Problem]], None]

RULES: tuple[Rule, ...] = (
    cluster.check_node_names,
    cluster.check_control_plane,
    cluster.check_mirror_nodes,
    cluster.check_host_ports,
    cluster.check_kubernetes_version,
    cluster.check_mirror_upstreams,
    cluster.check_mirror_ca,
    network.check_auto_addresses,
    network.check_lb_pool,
    network.check_nfs_server,
    network.check_ingress_addresses,
    network.check_api_vip,
    network.check_dns_records,
    components.check_component_keys,
    components.check_stand_ins,
    services.check_hosts,
    services.check_topics,
    services.check_gpus,
)


def check_all(m: Loaded, problems: list[Problem]) -> list[str]:
    """Run every rule on `m`, appending its problems to `problems`; returns the enabled
    components in dependency order (meaningful only when no problem was found)."""
    for rule in RULES:
        rule(m, problems)
    enabled = components.enabled_components(m, problems)
    components.check_dependencies(m, enabled, problems)
    components.check_pinned_nodes(m, enabled, problems)
    return components.dependency_order(m, enabled, problems)
