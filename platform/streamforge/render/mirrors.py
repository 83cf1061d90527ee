"""containerd registry host files (`certs.d/<registry>/hosts.toml`) for the replica's nodes.

Every upstream registry the replica pulls from is pulled through the local image cache first
(the registry container, which keeps each upstream under a path prefix: `docker.io/library/x`
is `<cache>/docker.io/library/x`), then from the upstream itself when that is reachable. An env
may name its own mirror for a registry (provider.mirrors) instead of the local cache.

The format is containerd's registry host configuration, documented in
https://github.com/containerd/containerd/blob/main/docs/hosts.md: `server` is the upstream (the
fallback), each `[host."<url>"]` is tried first in file order; `override_path = true` makes the
URL's path the registry API root, so `http://cache:5000/v2/docker.io` serves
`docker.io/library/x` from the cache's repository `docker.io/library/x`.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlsplit

from streamforge.model.checks.cluster import mirror_ca
from streamforge.model.images import DOCKER_HUB, upstream_server
from streamforge.model.load import Platform
from streamforge.model.schema.provider import KindProvider
from streamforge.render.context import Rendered
from streamforge.render.kind import REGISTRY_NAME

# Where the kind nodes' containerd reads host files (the cluster's containerdConfigPatches).
CERTS_D = PurePosixPath("/etc/containerd/certs.d")
# The cache as the nodes reach it: the registry container on the kind network.
CACHE_ENDPOINT = f"http://{REGISTRY_NAME}:5000"
# The upstream registries the replica's images come from. tests/unit/test_bom.py proves that
# every registry the bill of materials names is in this list (add it here if one is missing).
UPSTREAMS = (DOCKER_HUB, "ghcr.io", "quay.io", "registry.k8s.io", "registry.opensource.zalan.do")
RENDER_DIR = "containerd/certs.d"


def upstreams(provider: KindProvider) -> list[str]:
    """Every registry that gets a host file: the known upstreams and the env's mirrors."""
    return sorted({*UPSTREAMS, *provider.mirrors})


def ca_path(registry: str) -> PurePosixPath:
    """Where `up` copies a mirror's ca_file inside each node."""
    return CERTS_D / registry / "ca.crt"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def hosts_toml(registry: str, provider: KindProvider, cache_endpoint: str = CACHE_ENDPOINT) -> str:
    """The hosts.toml of one upstream `registry`: its mirror first, the upstream as fallback.

    `cache_endpoint` is the URL of the local image cache as the puller reaches it (the nodes:
    the registry container's name on the kind network; a test: 127.0.0.1:<port>)."""
    lines = [
        f"# {registry}: written by `streamforge up`; containerd tries the host below first, then",
        "# `server` (see https://github.com/containerd/containerd/blob/main/docs/hosts.md)",
        f"server = {_quote(upstream_server(registry))}",
        "",
    ]
    mirror = provider.mirrors.get(registry)
    if mirror is None:
        url = f"{cache_endpoint.rstrip('/')}/v2/{registry}"
        override = True
    else:
        url = mirror.url.rstrip("/")
        # a URL with a path names the API root (a Harbor proxy project, an Artifactory remote)
        override = urlsplit(url).path not in ("", "/")
    lines.append(f"[host.{_quote(url)}]")
    lines.append('  capabilities = ["pull", "resolve"]')
    if override:
        lines.append("  override_path = true")
    if mirror is not None and mirror.ca_file:
        lines.append(f"  ca = {_quote(str(ca_path(registry)))}")
    return "\n".join(lines) + "\n"


def project_hosts_toml(cache_endpoint: str = CACHE_ENDPOINT) -> str:
    """localhost:<port> (the project's own images) resolves to the registry container: the
    name works on the host and inside the nodes alike (kind's local-registry recipe)."""
    return f"[host.{_quote(cache_endpoint)}]\n"


def render(platform: Platform) -> dict[str, str]:
    """{relative path: text} of every host file, under containerd/certs.d/."""
    provider = platform.env.provider
    assert isinstance(provider, KindProvider)
    files = {
        f"{RENDER_DIR}/{registry}/hosts.toml": hosts_toml(registry, provider)
        for registry in upstreams(provider)
    }
    files[f"{RENDER_DIR}/localhost:{provider.registry_port}/hosts.toml"] = project_hosts_toml()
    return files


def write_script(files: dict[str, str]) -> str:
    """A POSIX shell script that writes {absolute path: text} (one `docker exec` per node
    instead of one per file). Here-documents with a quoted marker: nothing is expanded."""
    marker = "STREAMFORGE_EOF"
    parts = ["set -e\n"]
    for path, text in sorted(files.items()):
        if f"\n{marker}\n" in f"\n{text}":
            raise ValueError(f"{path} contains the line {marker}")
        body = text if text.endswith("\n") else text + "\n"
        folder = str(PurePosixPath(path).parent)
        parts.append(f"mkdir -p '{folder}'\ncat > '{path}' <<'{marker}'\n{body}{marker}\n")
    return "".join(parts)


def node_files(platform: Platform, rendered: Rendered) -> dict[str, str]:
    """{path in a node: text}: the rendered hosts.toml files and the env mirrors' CA files
    (read from the checkout; model.load checked they exist)."""
    files = {
        str(CERTS_D / rel[len(RENDER_DIR) + 1 :]): text
        for rel, text in rendered.files.items()
        if rel.startswith(RENDER_DIR + "/")
    }
    provider = platform.env.provider
    if isinstance(provider, KindProvider):
        for registry, mirror in provider.mirrors.items():
            if mirror.ca_file:
                ca = mirror_ca(platform.root, mirror.ca_file)
                files[str(ca_path(registry))] = ca.read_text()
    return files
