"""The homelab CI's builder, kaniko, builds the project's Dockerfiles: a real executor (upstream
v1.23.2, built from the Go module proxy by .ci/kaniko/build.sh) in an unprivileged container,
FROM the stand-in base in a local registry, pushing back to it, with the proxy CA given as the
GitLab job gives it (a file at /run/secrets/extra_ca, `--ignore-path /run/secrets`).

The homelab runs the maintained fork v1.28.5 (not on the module proxy); see
docs/platform/gitops-and-ci.md, "The builder"."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamforge.execute import build
from streamforge.render.image_refs import source_files
from tests.conftest import REPO, missing

HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)
# what the builder stage holds and the final image must not: its venv and wheels, pip caches
BUILDER_ONLY = ("build/", "wheels/", "root/.cache/pip", "tmp/.cache/pip", "run/secrets/")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _docker(*args: str, timeout: int = 120) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"docker {' '.join(args[:3])}: {done.stderr[-2000:]}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def kaniko_image(docker: None) -> str:
    if shutil.which("go") is None:
        missing("no `go`: .ci/kaniko/build.sh builds kaniko from the Go module proxy")
    done = subprocess.run(
        ["bash", str(REPO / ".ci" / "kaniko" / "build.sh")],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


class Registry:
    def __init__(self, name: str, port: int) -> None:
        self.name = name  # the address inside the docker network
        self.port = port  # the address from the host

    def get(self, path: str, accept: str = "") -> bytes:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/v2/{path}")
        if accept:
            request.add_header("Accept", accept)
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read())

    def layer_digests(self, repository: str, tag: str) -> list[str]:
        manifest = json.loads(self.get(f"{repository}/manifests/{tag}", MANIFEST_TYPES))
        return [layer["digest"] for layer in manifest["layers"]]

    def layer(self, repository: str, digest: str) -> tarfile.TarFile:
        blob = self.get(f"{repository}/blobs/{digest}")
        return tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)))


@pytest.fixture(scope="module")
def registry(registry_image: str, parent_image: str) -> Iterator[Registry]:
    """A registry on a network of its own; the stand-in base pushed to it from the host."""
    import uuid

    name = f"sf-kaniko-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    _docker("network", "create", name)
    pushed = f"127.0.0.1:{port}/python-base:3.11"
    try:
        _docker(
            "run", "-d", "--name", name, "--network", name,
            "-p", f"127.0.0.1:{port}:5000", registry_image,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the test registry did not answer"
                time.sleep(0.5)
        _docker("tag", parent_image, pushed)
        _docker("push", pushed, timeout=600)
        yield Registry(name, port)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        subprocess.run(["docker", "network", "rm", name], capture_output=True, check=False)
        subprocess.run(["docker", "rmi", pushed], capture_output=True, check=False)


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository root as a CI checkout holds it, reduced to what the two builds read."""
    root = tmp_path_factory.mktemp("kaniko-context")
    wanted = [
        REPO / "platform" / "Dockerfile",
        *source_files(REPO / "platform" / "streamforge_utils"),
        *source_files(REPO / "services" / "dummy-service"),
    ]
    for path in wanted:
        target = root / path.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return root


@pytest.fixture(scope="module")
def ca_file() -> Path:
    """The CA bundle the build needs behind a TLS-intercepting proxy (else the host's)."""
    ca = build.extra_ca() or HOST_CA
    if not ca.is_file():
        missing(f"no CA bundle at {ca}; set STREAMFORGE_EXTRA_CA")
    return ca


def kaniko(
    image: str, registry: Registry, context: Path, ca: Path, dockerfile: str, base: str, to: str
) -> None:
    """One executor run as the GitLab job makes it (.gitlab/ci-templates/*.yml)."""
    done = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            registry.name,
            "-v",
            f"{context}:/workspace:ro",
            "-v",
            f"{ca}:/run/secrets/extra_ca:ro",
            image,
            "--context",
            "dir:///workspace",
            "--dockerfile",
            f"/workspace/{dockerfile}",
            "--build-arg",
            f"BASE_IMAGE={registry.name}:5000/{base}",
            "--destination",
            f"{registry.name}:5000/{to}",
            "--ignore-path",
            "/run/secrets",
            "--insecure",
            "--insecure-pull",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


@pytest.fixture(scope="module")
def built(
    kaniko_image: str, registry: Registry, context: Path, ca_file: Path
) -> Iterator[Registry]:
    kaniko(
        kaniko_image, registry, context, ca_file,
        "platform/Dockerfile", "python-base:3.11", "base:kaniko",
    )  # fmt: skip
    kaniko(
        kaniko_image, registry, context, ca_file,
        "services/dummy-service/Dockerfile", "base:kaniko", "dummy-service:kaniko",
    )  # fmt: skip
    yield registry
    for ref in ("base:kaniko", "dummy-service:kaniko"):
        subprocess.run(
            ["docker", "rmi", f"127.0.0.1:{registry.port}/{ref}"], capture_output=True, check=False
        )


def _digest(member: tarfile.TarFile, info: tarfile.TarInfo) -> str:
    handle = member.extractfile(info)
    assert handle is not None
    return hashlib.sha256(handle.read()).hexdigest()


def test_the_base_image_layers_hold_no_ca_and_no_build_tools(
    built: Registry, ca_file: Path
) -> None:
    ca_size, ca_digest = ca_file.stat().st_size, hashlib.sha256(ca_file.read_bytes()).hexdigest()
    parent = set(built.layer_digests("python-base", "3.11"))
    # the layers kaniko added on top of the parent's
    own = [d for d in built.layer_digests("base", "kaniko") if d not in parent]
    assert own, "kaniko added no layer"
    added = [
        (layer, info)
        for layer in (built.layer("base", digest) for digest in own)
        for info in layer.getmembers()
    ]
    names = {info.name.removeprefix("./") for _, info in added}
    assert any(n.startswith("opt/venv/lib/") and "/streamforge_utils/" in n for n in names)
    assert sorted(n for n in names if n.startswith(BUILDER_ONLY)) == []
    copies = [
        info.name
        for layer, info in added
        if info.isfile() and info.size == ca_size and _digest(layer, info) == ca_digest
    ]
    assert copies == []
    # no compiler or build driver came with it either
    tools = {"gcc", "cc", "make", "g++", "ld"}
    assert sorted(n for n in names if n.startswith("usr/") and n.rsplit("/", 1)[-1] in tools) == []


def test_the_kaniko_built_images_run(built: Registry) -> None:
    base = f"127.0.0.1:{built.port}/base:kaniko"
    service = f"127.0.0.1:{built.port}/dummy-service:kaniko"
    for ref in (base, service):
        _docker("pull", ref, timeout=600)
    probe = "import sys, streamforge_utils, hatchling, pytest; print(sys.prefix)"
    assert _docker("run", "--rm", "--network", "none", base, "python", "-c", probe) == "/opt/venv"
    assert _docker("run", "--rm", "--network", "none", base, "id", "-u") == "10001"
    assert (
        _docker("run", "--rm", "--network", "none", service, "python", "-c",
                "import dummy_service; print(dummy_service.__name__)")
        == "dummy_service"
    )  # fmt: skip
