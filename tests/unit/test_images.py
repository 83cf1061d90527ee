"""Image references in canonical form, and their name in the image cache."""

from __future__ import annotations

import pytest

from streamforge.model.images import ImageRefError, parse


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("traefik:v3.4.1", "docker.io/library/traefik:v3.4.1"),
        ("docker.io/traefik:v3.4.1", "docker.io/library/traefik:v3.4.1"),
        ("traefik/whoami:v1.10.3", "docker.io/traefik/whoami:v1.10.3"),
        ("index.docker.io/library/busybox:1.37.0", "docker.io/library/busybox:1.37.0"),
        ("quay.io/metallb/controller:v0.14.9", "quay.io/metallb/controller:v0.14.9"),
        ("localhost:5001/streamforge/x:0123456789ab", "localhost:5001/streamforge/x:0123456789ab"),
        (
            "registry.k8s.io/ingress-nginx/controller:v1.12.1@sha256:" + "a" * 64,
            "registry.k8s.io/ingress-nginx/controller:v1.12.1@sha256:" + "a" * 64,
        ),
    ],
)
def test_canonical_form(written: str, canonical: str) -> None:
    assert str(parse(written)) == canonical


def test_cache_keeps_each_upstream_under_its_registry_name() -> None:
    assert (
        parse("docker.io/traefik:v3.4.1").cached_as("localhost:5001")
        == "localhost:5001/docker.io/library/traefik:v3.4.1"
    )
    assert (
        parse("quay.io/metallb/controller:v0.14.9").cached_as("localhost:5001")
        == "localhost:5001/quay.io/metallb/controller:v0.14.9"
    )
    # a digest-pinned reference is cached by its tag
    digest = "registry.k8s.io/pause:3.10@sha256:" + "b" * 64
    assert parse(digest).cached_as("c:1") == "c:1/registry.k8s.io/pause:3.10"


@pytest.mark.parametrize("bad", ["", "UPPER/case:1", "name::tag", "a/b@sha256:short"])
def test_not_a_reference(bad: str) -> None:
    with pytest.raises(ImageRefError, match="not an image reference"):
        parse(bad)
