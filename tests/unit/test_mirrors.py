"""The containerd host files the replica's nodes get: every upstream registry through the local
image cache first (or through the env's own mirror), the upstream itself as the fallback."""

from __future__ import annotations

import tomllib
from pathlib import Path

from streamforge.model.load import load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from tests.conftest import REPO

MIRRORS = """\
  mirrors:
    docker.io:
      url: https://harbor.example.com/v2/dockerhub-proxy
      ca_file: certs/corp-ca.pem
    quay.io:
      url: https://quay-mirror.example.com
"""


def host_files(root: Path) -> dict[str, dict]:
    files = render(load_platform(root, "local"), Facts()).files
    prefix = "containerd/certs.d/"
    return {
        rel[len(prefix) : -len("/hosts.toml")]: tomllib.loads(text)
        for rel, text in files.items()
        if rel.startswith(prefix)
    }


def test_every_upstream_is_pulled_through_the_cache_with_the_upstream_as_fallback() -> None:
    hosts = host_files(REPO)
    assert {"docker.io", "quay.io", "registry.k8s.io", "ghcr.io"} <= set(hosts)
    docker_hub = hosts["docker.io"]
    assert docker_hub["server"] == "https://registry-1.docker.io"
    assert docker_hub["host"] == {
        "http://streamforge-registry:5000/v2/docker.io": {
            "capabilities": ["pull", "resolve"],
            "override_path": True,
        }
    }
    assert hosts["quay.io"]["server"] == "https://quay.io"
    assert list(hosts["quay.io"]["host"]) == ["http://streamforge-registry:5000/v2/quay.io"]
    # the project's own images: localhost:<port> is the registry container
    assert list(hosts["localhost:5001"]["host"]) == ["http://streamforge-registry:5000"]


def test_an_env_mirror_replaces_the_cache_for_its_registry(model_copy: Path, edit) -> None:
    (model_copy / "certs").mkdir()
    (model_copy / "certs" / "corp-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    edit(model_copy / "envs" / "local.yaml", "  mirror_nodes:", MIRRORS + "  mirror_nodes:")
    hosts = host_files(model_copy)
    assert hosts["docker.io"]["host"] == {
        "https://harbor.example.com/v2/dockerhub-proxy": {
            "capabilities": ["pull", "resolve"],
            "override_path": True,  # the URL's path is the API root
            "ca": "/etc/containerd/certs.d/docker.io/ca.crt",
        }
    }
    # a mirror at a registry's root: containerd adds /v2 itself
    assert hosts["quay.io"]["host"] == {
        "https://quay-mirror.example.com": {"capabilities": ["pull", "resolve"]}
    }
    assert list(hosts["ghcr.io"]["host"]) == ["http://streamforge-registry:5000/v2/ghcr.io"]
