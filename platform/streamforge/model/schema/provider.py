"""Where an env runs: a kind replica on this machine (with its registry mirrors) or an existing
cluster."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from streamforge.model.schema.base import DnsLabel, Invalid, Strict


class Mirror(Strict):
    """An env's own mirror of one upstream registry (a corporate Harbor or Artifactory), used
    instead of the local image cache for that registry."""

    url: str = Field(
        description="the mirror's registry API root, e.g. https://harbor.example.com/v2/dockerhub"
    )
    ca_file: str | None = Field(
        default=None, description="PEM CA that signed the mirror's certificate (path, ~ allowed)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            host = re.sub(r"^[A-Za-z]+:/*", "", value.strip()).split("/")[0] or "harbor.example.com"
            raise Invalid(
                f"'{value}' is not an http(s) URL",
                f"write it with its scheme, e.g. `https://{host}`",
            )
        return value


# A registry host as image references name it (github.com/distribution/reference domain).
REGISTRY_HOST = r"^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+)(:[0-9]+)?$"


class KindProvider(Strict):
    type: Literal["kind"]
    cluster_name: DnsLabel = "streamforge"
    mirror_nodes: list[DnsLabel] = Field(min_length=1)
    registry_port: Annotated[int, Field(ge=1024, le=65535)] = 5001
    http_port: Annotated[int, Field(ge=1, le=65535)] = 80
    https_port: Annotated[int, Field(ge=1, le=65535)] = 443
    shared_dir: str = "~/.cache/streamforge/rwx"
    node_image: str | None = Field(
        default=None,
        description="kind node image instead of the pin (STREAMFORGE_KIND_NODE_IMAGE wins)",
    )
    mirrors: dict[str, Mirror] = Field(
        default={}, description="upstream registry -> the env's own mirror of it"
    )

    @field_validator("mirrors")
    @classmethod
    def _mirrors(cls, value: dict[str, Mirror]) -> dict[str, Mirror]:
        for host in value:
            if not re.match(REGISTRY_HOST, host):
                raise ValueError(
                    f"'{host}' is not a registry host name; key each mirror by the upstream "
                    "registry it stands for, as image references name it (docker.io, quay.io, "
                    "registry.k8s.io, ghcr.io)"
                )
            if host in ("index.docker.io", "registry-1.docker.io"):
                raise ValueError(f"'{host}': write docker.io, the name images use")
        return value

    @field_validator("node_image")
    @classmethod
    def _node_image(cls, value: str | None) -> str | None:
        if value is not None:
            from streamforge.model.images import ImageRefError, parse

            try:
                if value != value.strip():  # parse() forgives spaces; docker and kind do not
                    raise Invalid(
                        f"'{value}' is not an image reference", "write registry/name:tag, no spaces"
                    )
                parse(value)
            except ImageRefError as exc:
                raise ValueError(str(exc)) from None
        return value


class ExistingProvider(Strict):
    type: Literal["existing"]
    context: str
