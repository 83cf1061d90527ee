"""Cross-field checks of an env's addresses and DNS records: `auto` only in the replica, the
MetalLB pool inside the nodes' subnet, the NFS server, the ingress and kube-vip addresses
apart from each other and the pool, and DNS records inside the env's domain.

The replica's pool is checked against the docker kind network at render time (check_pool is
shared with render). Each check appends a `Problem` per violation to `problems`; none raises."""

from __future__ import annotations

import ipaddress

from streamforge.errors import Problem
from streamforge.model.checks.loaded import Loaded
from streamforge.model.schema.addresses import address_range, network
from streamforge.model.sources import Loc, Origins

AddressRange = tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]
AUTO_KEYS = ("subnet", "lb_pool", "ingress_address", "backup_ingress_address", "api_vip")


def check_auto_addresses(m: Loaded, problems: list[Problem]) -> None:
    """`auto` addresses are carved from the docker kind network: only the replica has one."""
    if m.env.is_replica:
        return
    for key in AUTO_KEYS:
        if getattr(m.env.network, key) == "auto":
            problems.append(
                m.env_origins.problem(
                    ("network", key),
                    f"network.{key}: auto is only for the kind replica (carved from the "
                    "docker kind network); this env has no such network",
                    "write the address (see network in envs/homelab.yaml)",
                )
            )


def _fixed_pool(m: Loaded) -> AddressRange | None:
    """The first and last address of lb_pool when the model fixes them (not `auto`, and in
    production not inside an `auto` subnet), else None: nothing to check them against yet."""
    net = m.env.network
    if net.lb_pool == "auto" or (not m.env.is_replica and net.subnet == "auto"):
        return None
    return address_range(net.lb_pool)


def check_lb_pool(m: Loaded, problems: list[Problem]) -> None:
    """lb_pool against the nodes' subnet (see check_pool); the replica's `auto` or missing
    subnet is the kind network, checked at render."""
    net = m.env.network
    if _fixed_pool(m) is None or (m.env.is_replica and net.subnet in (None, "auto")):
        return
    check_pool(net.lb_pool, net.subnet, m.env_origins, problems)


def check_pool(pool: str, subnet: str | None, where: Origins, problems: list[Problem]) -> None:
    """`pool` (and the ingress addresses, already inside it) must lie in `subnet` and hold
    neither its network nor its broadcast address (a CIDR pool is its own subnet when none is
    given): MetalLB would otherwise hand out an address no host can answer on.

    Inputs are valid pool and subnet values (the schema checked their form); a problem is
    appended to `problems`, located at network.lb_pool in `where`."""
    first, last = address_range(pool)
    if subnet is None or subnet == "auto":
        if "/" not in pool:
            return
        net = network(pool)
    else:
        net = network(subnet)
        if not (first in net and last in net):
            problems.append(
                where.problem(
                    ("network", "lb_pool"),
                    f"lb_pool {pool} is not inside the nodes' subnet {net}",
                    "pick a pool inside it (MetalLB L2 answers only on the nodes' network)",
                )
            )
            return
    if net.prefixlen < 31 and (first == net.network_address or last == net.broadcast_address):
        inner = f"{net.network_address + 1}-{net.broadcast_address - 1}"
        hint = f"`{max(first, net.network_address + 1)}-{min(last, net.broadcast_address - 1)}`"
        problems.append(
            where.problem(
                ("network", "lb_pool"),
                f"lb_pool {pool} includes the network or broadcast address of {net}",
                f"use addresses in {inner} only, e.g. {hint}",
            )
        )


def check_nfs_server(m: Loaded, problems: list[Problem]) -> None:
    """An NFS server given by address lies outside lb_pool (MetalLB could hand it out) and
    inside the nodes' subnet."""
    pool, net = _fixed_pool(m), m.env.network
    server = m.env.storage.nfs.server if m.env.storage.nfs else None
    if pool is None or not server or not server.replace(".", "").isdigit():
        return
    address = ipaddress.IPv4Address(server)
    if pool[0] <= address <= pool[1]:
        problems.append(
            m.env_origins.problem(
                ("storage", "nfs", "server"),
                f"NFS server {server} lies inside lb_pool {net.lb_pool}, so MetalLB could "
                "hand its address to a Service",
                "move the pool or the server so they do not overlap",
            )
        )
    if net.subnet is not None and net.subnet != "auto" and address not in network(net.subnet):
        problems.append(
            m.env_origins.problem(
                ("storage", "nfs", "server"),
                f"NFS server {server} is outside the nodes' subnet {net.subnet}",
                "correct the address or network.subnet",
            )
        )


def check_ingress_addresses(m: Loaded, problems: list[Problem]) -> None:
    """The two ingress controllers' addresses lie inside lb_pool, each its own."""
    pool, net = _fixed_pool(m), m.env.network
    if pool is None:
        return
    picked: dict[str, str] = {}
    for key in ("ingress_address", "backup_ingress_address"):
        value = getattr(net, key)
        if value == "auto":
            continue
        if not pool[0] <= ipaddress.IPv4Address(value) <= pool[1]:
            problems.append(
                m.env_origins.problem(
                    ("network", key),
                    f"{key} {value} lies outside lb_pool {net.lb_pool}",
                    "pick an address inside the pool or widen the pool",
                )
            )
        if value in picked:
            problems.append(
                m.env_origins.problem(
                    ("network", key),
                    f"{key} {value} is also {picked[value]}",
                    "give each controller its own address",
                )
            )
        picked[value] = key


def check_api_vip(m: Loaded, problems: list[Problem]) -> None:
    """kube-vip's API address must not be one MetalLB may hand out (two ARP answers for one
    address), nor one of the ingress addresses."""
    net, eo = m.env.network, m.env_origins
    if net.api_vip is None or net.api_vip == "auto":
        return
    taken = {net.ingress_address: "ingress_address", net.backup_ingress_address: "backup"}
    if net.api_vip in taken:
        problems.append(
            eo.problem(
                ("network", "api_vip"),
                f"api_vip {net.api_vip} is also network.{taken[net.api_vip]}",
                "give kube-vip an address of its own, outside lb_pool",
            )
        )
    elif net.lb_pool != "auto":
        first, last = address_range(net.lb_pool)
        if first <= ipaddress.IPv4Address(net.api_vip) <= last:
            problems.append(
                eo.problem(
                    ("network", "api_vip"),
                    f"api_vip {net.api_vip} lies inside lb_pool {net.lb_pool}, so MetalLB "
                    "could give it to a Service as well",
                    f"pick an address outside {net.lb_pool} (or shrink the pool)",
                )
            )


def check_dns_records(m: Loaded, problems: list[Problem]) -> None:
    """Every record lies in the env's domain (Technitium serves only that zone), appears once,
    and points at an address the env has."""
    env, eo = m.env, m.env_origins
    seen: set[str] = set()
    for index, record in enumerate(env.dns.records):
        loc: Loc = ("dns", "records", index, "name")
        bare = record.name.removeprefix("*.")
        if bare != env.domain and not bare.endswith(f".{env.domain}"):
            problems.append(
                eo.problem(
                    loc,
                    f"DNS record '{record.name}' is outside the domain {env.domain}",
                    f"name it <host>.{env.domain} (or '*.{env.domain}')",
                )
            )
        if record.name in seen:
            problems.append(
                eo.problem(loc, f"duplicate DNS record '{record.name}'", "keep one of them")
            )
        seen.add(record.name)
        if record.to == "api_vip" and env.network.api_vip is None:
            problems.append(
                eo.problem(
                    ("dns", "records", index, "to"),
                    f"record '{record.name}' points at api_vip, but network.api_vip is not set",
                    "set network.api_vip or point the record elsewhere",
                )
            )
