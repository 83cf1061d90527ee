"""Reading the kind network's subnet from a real Docker network, and carving the MetalLB pool
from it, as `up` does once kind has created its network."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

import pytest

from streamforge.execute import docker_host
from streamforge.model.load import load_platform
from streamforge.render.context import Facts, addresses
from streamforge.render.env import render
from tests.conftest import REPO


@pytest.fixture
def network(docker: None, unique: str):
    subnet = "172.30.251.0/24"
    made = subprocess.run(
        [
            "docker",
            "network",
            "create",
            "--subnet",
            subnet,
            "--label",
            "io.streamforge.test=true",
            unique,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    yield unique, subnet
    subprocess.run(["docker", "network", "rm", unique], capture_output=True, check=False)


def test_subnet_is_read_and_the_pool_carved_from_it(network: tuple[str, str]) -> None:
    name, subnet = network
    assert docker_host.kind_subnet(name) == subnet
    platform = load_platform(REPO, "local")
    found = addresses(platform, Facts(kind_subnet=subnet))
    net = ipaddress.IPv4Network(subnet)
    first, last = (ipaddress.IPv4Address(a) for a in found.lb_pool.split("-"))
    assert first in net and last in net and last < net.broadcast_address
    assert ipaddress.IPv4Address(found.ingress_address) in net
    assert found.ingress_address != found.backup_ingress_address
    pool = render(platform, Facts(kind_subnet=subnet)).files
    metallb = next(text for rel, text in pool.items() if rel.endswith("-metallb.yaml"))
    assert found.lb_pool in metallb


def test_missing_network_reads_as_none(docker: None, unique: str) -> None:
    assert docker_host.kind_subnet(unique) is None


def test_render_uses_default_subnet_without_docker(tmp_path: Path) -> None:
    platform = load_platform(REPO, "local")
    assert addresses(platform, Facts()).lb_pool.startswith("172.18.255.")
