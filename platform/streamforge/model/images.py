"""Image references: their canonical form, their upstream registry, and where the local image
cache (the replica's registry) keeps them.

The rules follow the distribution reference grammar that Docker and containerd share
(github.com/distribution/reference, `ParseNormalizedNamed`): a first path component that has a
`.` or a `:`, or is `localhost`, names the registry; otherwise the registry is `docker.io`, and a
one-component Docker Hub name gets the `library/` prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
# The name component grammar (lower-case alphanumerics joined by `.`, `_`, `__` or dashes).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"^(?:(?P<domain>[a-zA-Z0-9.-]+(?::[0-9]+)?)/)?"
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)


_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")


class ImageRefError(ValueError):
    """A string that is not an image reference."""


@dataclass(frozen=True, order=True)
class ImageRef:
    """One image reference in canonical form: registry, repository path, tag, digest."""

    registry: str
    path: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        return (
            self.name
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.path}"

    @property
    def pinned(self) -> bool:
        """A reference that names one version: a tag other than `latest`, or a digest."""
        return bool(self.digest) or (self.tag not in (None, "latest"))

    def cached_as(self, cache: str) -> str:
        """Its name in the image cache `cache` (a registry host:port): the upstream registry
        becomes the first path component, so one registry holds every upstream, e.g.
        `docker.io/library/traefik:v3.4.1` -> `localhost:5001/docker.io/library/traefik:v3.4.1`.
        The digest is dropped: a cache filled by `docker push` holds the image by tag."""
        return f"{cache}/{self.registry}/{self.path}:{self.tag or 'latest'}"


def parse(text: str) -> ImageRef:
    """Parse `text` into its canonical ImageRef; ImageRefError if it is not a reference."""
    found = _REFERENCE.match(text.strip())
    if not found:
        raise ImageRefError(f"'{text}' is not an image reference (write registry/name:tag)")
    domain, path = found.group("domain"), found.group("path")
    if domain and not ("." in domain or ":" in domain or domain == "localhost"):
        path, domain = f"{domain}/{path}", None  # `traefik/whoami`: a Docker Hub namespace
        if not _PATH.match(path):
            raise ImageRefError(f"'{text}' is not an image reference (names are lower case)")
    registry = domain or DOCKER_HUB
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return ImageRef(registry, path, found.group("tag"), found.group("digest"))


def is_reference(text: str) -> bool:
    try:
        parse(text)
    except ImageRefError:
        return False
    return True


def upstream_server(registry: str) -> str:
    """The URL containerd pulls `registry` from when no mirror answers (Docker Hub's API lives
    on registry-1.docker.io, as containerd's own default for docker.io says)."""
    return "https://registry-1.docker.io" if registry == DOCKER_HUB else f"https://{registry}"
