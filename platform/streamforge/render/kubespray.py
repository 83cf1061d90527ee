"""Production's cluster lifecycle (seed 5.1-5.3): the Kubespray inventory made from the env's
nodes, and the settings the seed implies (kube-vip for the API, containerd, the Kubernetes
version).

Variable names follow Kubespray's sample inventory (`inventory/sample/group_vars/k8s_cluster/
k8s-cluster.yml`, `addons.yml`) and its kube-vip guide (`docs/ingress/kube-vip.md`); since
Kubespray 2.27 `kube_version` is written without the leading `v`. Node labels and taints go in
through Kubespray's `node_labels` / `node_taints` host variables, so the homelab's nodes carry the
same `streamforge.io/*` labels the replica's kind nodes do.
"""

from __future__ import annotations

from typing import Any

from streamforge.model.load import HOMELAB_NODE_LABEL, Platform
from streamforge.render.context import dump

INVENTORY = "kubespray/inventory"
API_PORT = 6443


def _host(platform: Platform, name: str) -> dict[str, Any]:
    node = platform.env.node(name)
    assert node is not None
    host: dict[str, Any] = {"node_labels": {HOMELAB_NODE_LABEL: name, **node.labels}}
    if node.taints:
        host["node_taints"] = [f"{t.key}={t.value}:{t.effect}" for t in node.taints]
    return host


def hosts(platform: Platform) -> dict[str, Any]:
    """hosts.yaml: every node a host (named as its node), grouped the way Kubespray expects."""
    nodes = platform.env.nodes
    control = [n.name for n in nodes if n.role == "control-plane"]
    workers = [n.name for n in nodes if n.role == "worker"]
    return {
        "all": {
            "hosts": {n.name: _host(platform, n.name) for n in nodes},
            "children": {
                "kube_control_plane": {"hosts": {name: None for name in control}},
                # stacked etcd on the control-plane VMs (Kubespray's default layout)
                "etcd": {"hosts": {name: None for name in control}},
                "kube_node": {"hosts": {name: None for name in workers}},
                "k8s_cluster": {"children": {"kube_control_plane": None, "kube_node": None}},
            },
        }
    }


def cluster_vars(platform: Platform) -> dict[str, Any]:
    """group_vars/k8s_cluster/streamforge.yml: what the model decides; Kubespray's defaults
    stand for everything else."""
    env = platform.env
    out: dict[str, Any] = {
        "kube_version": env.kubernetes_version.removeprefix("v"),
        "container_manager": "containerd",
        # MetalLB in L2 mode needs strict ARP with kube-proxy's IPVS mode (MetalLB docs)
        "kube_proxy_strict_arp": True,
    }
    vip = env.network.api_vip
    if vip is not None and vip != "auto":
        api_names = [
            r.name for r in env.dns.records if r.to == "api_vip" and not r.name.startswith("*")
        ]
        out.update(
            {
                # kube-vip as a static pod on each control-plane node, ARP (layer 2) mode
                "kube_vip_enabled": True,
                "kube_vip_controlplane_enabled": True,
                "kube_vip_arp_enabled": True,
                "kube_vip_address": vip,
                # LoadBalancer Services get their addresses from MetalLB, not kube-vip
                "kube_vip_services_enabled": False,
                "loadbalancer_apiserver": {"address": vip, "port": API_PORT},
                "loadbalancer_apiserver_localhost": False,
            }
        )
        if api_names:
            out["apiserver_loadbalancer_domain_name"] = api_names[0]
        out["supplementary_addresses_in_ssl_keys"] = [vip, *api_names]
    return out


def render(platform: Platform) -> dict[str, str]:
    head = f"# Generated from envs/{platform.env.name}.yaml by `streamforge render`; do not edit.\n"
    return {
        f"{INVENTORY}/hosts.yaml": head + dump(hosts(platform)),
        f"{INVENTORY}/group_vars/k8s_cluster/streamforge.yml": head + dump(cluster_vars(platform)),
    }
