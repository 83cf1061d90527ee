"""The image cache on a real Docker engine: a registry container whose storage is a host folder,
filled with real `docker push`es under each image's upstream name, and read by a real containerd
(the host's, started on a private socket) through the rendered hosts.toml, the way the replica's
nodes read it. Then `up --offline` against caches that lack images.

The registry image cannot be pulled here, so the registry binary (built from the Go module proxy)
is packaged into a local image (tests/docker/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamforge.commands import offline
from streamforge.commands.bom import CACHE, Bom, Image
from streamforge.commands.cli import main
from streamforge.execute import registry as local_registry
from streamforge.model.images import parse
from streamforge.model.load import load_platform
from streamforge.model.schema.provider import KindProvider
from streamforge.render.mirrors import hosts_toml, write_script
from tests.conftest import REPO, copy_model, missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def docker(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, text=True, check=False
    )


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def tiny_image(tag: str, tmp: Path, text: str) -> None:
    """A one-file image under `tag` in the local engine (no registry needed to make it)."""
    (tmp / "hello.txt").write_text(text)
    with tarfile.open(tmp / "rootfs.tar", "w") as tar:
        tar.add(tmp / "hello.txt", arcname="hello.txt")
    done = docker("import", str(tmp / "rootfs.tar"), tag)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def provider() -> KindProvider:
    env = load_platform(REPO, "local").env
    assert isinstance(env.provider, KindProvider)
    return env.provider


@pytest.fixture
def cache(registry_image: str, unique: str, tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """(container name, port, storage folder) of a registry started the way `up` starts it."""
    port, folder = free_port(), tmp_path / "images"
    local_registry.start_registry(registry_image, port, name=unique, data_dir=folder)
    wait_for(port)
    yield unique, port, folder
    docker("rm", "-f", unique)
    # the registry wrote its storage as root; leave nothing behind in the temp folder
    docker("run", "--rm", "-v", f"{tmp_path}:/t", "--entrypoint", "rm", registry_image, "-rf",
           "/t/images")  # fmt: skip


@pytest.fixture
def upstream_images(unique: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two tiny images tagged under upstream names (Docker Hub short form, and quay.io)."""
    refs = [f"{unique}/hello:1", f"quay.io/{unique}/hello:2"]
    for index, ref in enumerate(refs):
        folder = tmp_path / f"img{index}"
        folder.mkdir()
        tiny_image(ref, folder, f"image {index}\n")
    yield refs
    for ref in refs:
        docker("rmi", "-f", ref)


@pytest.fixture
def containerd(tmp_path: Path) -> Iterator[str]:
    """The host's containerd on a private socket, root and state (CRI off); its address."""
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        missing("containerd is not installed (Debian package containerd, a docker.io dependency)")
    if os.geteuid() != 0:
        missing("running containerd needs root")
    base = Path(f"/tmp/sf-ctd-{tmp_path.name[-12:]}")  # a unix socket path must stay short
    base.mkdir(parents=True, exist_ok=True)
    address = str(base / "c.sock")
    (base / "config.toml").write_text(
        f'version = 2\nroot = "{base}/root"\nstate = "{base}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{address}"\n'
    )
    log = (base / "log").open("w")
    proc = subprocess.Popen(
        ["containerd", "--config", str(base / "config.toml")], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            ["ctr", "-a", address, "version"], capture_output=True, check=False
        ).returncode:
            assert proc.poll() is None, (base / "log").read_text()[-2000:]
            assert time.monotonic() < deadline, "containerd did not start"
            time.sleep(0.3)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def test_images_pushed_under_their_upstream_names_are_pulled_by_containerd_through_hosts_toml(
    cache: tuple[str, int, Path],
    upstream_images: list[str],
    provider: KindProvider,
    containerd: str,
    tmp_path: Path,
) -> None:
    name, port, folder = cache
    images = [Image(ref, CACHE) for ref in upstream_images]
    counts = offline.fill_cache(images, provider, f"127.0.0.1:{port}", folder)
    assert counts == {"cached": 0, "pushed": 2, "mirror": 0}
    assert all(local_registry.in_cache(ref, folder) for ref in upstream_images)
    # filled once: a second run pushes nothing
    again = offline.fill_cache(images, provider, f"127.0.0.1:{port}", folder)
    assert again == {"cached": 2, "pushed": 0, "mirror": 0}

    # the hosts.toml `up` renders, pointing at this cache as the puller reaches it
    hosts = tmp_path / "certs.d"
    for registry in ("docker.io", "quay.io"):
        (hosts / registry).mkdir(parents=True)
        (hosts / registry / "hosts.toml").write_text(
            hosts_toml(registry, provider, f"http://127.0.0.1:{port}")
        )
    for ref in upstream_images:
        canonical = str(parse(ref))
        pulled = subprocess.run(
            ["ctr", "-a", containerd, "images", "pull", "--snapshotter", "native",
             "--hosts-dir", str(hosts), canonical],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert pulled.returncode == 0, pulled.stdout + pulled.stderr
        listed = subprocess.run(
            ["ctr", "-a", containerd, "images", "ls", "-q"], capture_output=True, text=True
        ).stdout.split()
        assert canonical in listed
    # containerd asked the cache, under each upstream's path prefix (it has no other source)
    logs = docker("logs", name)
    served = logs.stdout + logs.stderr
    assert f"GET /v2/docker.io/{upstream_images[0].split(':')[0]}/manifests/" in served
    assert f"GET /v2/{upstream_images[1].split(':')[0]}/manifests/" in served


def test_the_cache_outlives_its_container(
    cache: tuple[str, int, Path], upstream_images: list[str], provider: KindProvider,
    registry_image: str,
) -> None:  # fmt: skip
    name, port, folder = cache
    ref = upstream_images[1]
    offline.fill_cache([Image(ref, CACHE)], provider, f"127.0.0.1:{port}", folder)
    assert local_registry.registry_data(name) == folder.resolve()
    assert local_registry.remove_registry(name)  # what `down` does
    assert local_registry.in_cache(ref, folder)
    local_registry.start_registry(registry_image, port, name=name, data_dir=folder)
    wait_for(port)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/quay.io/{ref.split('/', 1)[1].replace(':', '/manifests/')}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        method="HEAD",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_a_cache_missing_one_image_names_exactly_that_one(
    cache: tuple[str, int, Path], upstream_images: list[str], provider: KindProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _, port, folder = cache
    present, absent = upstream_images
    offline.fill_cache([Image(present, CACHE)], provider, f"127.0.0.1:{port}", folder)
    monkeypatch.setenv(local_registry.CACHE_ENV, str(folder))
    images = [Image(str(parse(r)), CACHE, ["test"]) for r in upstream_images]
    lines = offline.missing(Bom("local", "default", [], images), [], provider)
    assert lines == [f"image {parse(absent)} (test): not in the image cache {folder}"]


def test_node_files_are_written_by_one_script(parent_image: str, provider: KindProvider) -> None:
    files = {
        "/etc/containerd/certs.d/docker.io/hosts.toml": hosts_toml("docker.io", provider),
        "/etc/containerd/certs.d/docker.io/ca.crt": "-----BEGIN CERTIFICATE-----\nabc\n",
        "/etc/containerd/certs.d/localhost:5001/hosts.toml": '[host."$HOME `x`"]',
    }
    check = "".join(f"echo '=== {p}'; cat '{p}'\n" for p in sorted(files))
    done = docker("run", "-i", "--rm", "--entrypoint", "sh", parent_image,
                  stdin=write_script(files) + check)  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = "".join(
        f"=== {p}\n{t if t.endswith(chr(10)) else t + chr(10)}" for p, t in sorted(files.items())
    )
    assert done.stdout == expected


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unique: str, docker: None) -> Path:
    """A copy of the repository's model under a cluster name and registry port no one uses."""
    root = copy_model(tmp_path / "repo")
    local = root / "envs" / "local.yaml"
    local.write_text(
        local.read_text().replace(
            "cluster_name: streamforge", f"cluster_name: {unique}\n  registry_port: {free_port()}"
        )
    )
    monkeypatch.setenv(local_registry.CACHE_ENV, str(tmp_path / "empty-image-cache"))
    monkeypatch.chdir(root)
    return root


def test_up_offline_refuses_before_any_change_and_names_what_is_missing(
    scratch: Path,
    chart_cache: Path,
    helm_binary: str,
    unique: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    containers = docker("ps", "-a", "--format", "{{.Names}}").stdout
    (chart_cache / "traefik-36.1.0.tgz").unlink()  # one chart missing too
    assert main(["up", "--offline", "--profile", "minimal"]) == 1
    err = capsys.readouterr().err
    assert "nothing was changed" in err
    assert "chart traefik 36.1.0 (traefik): not in" in err
    assert "image quay.io/metallb/controller:v0.14.9 (chart metallb (metallb))" in err
    assert "not in the image cache" in err
    assert "nox -s prefetch -- --env local --profile minimal" in err
    # nothing was created: no container, no cluster state, no rendered files, no chart fetched
    assert docker("ps", "-a", "--format", "{{.Names}}").stdout == containers
    assert not (scratch / ".streamforge").exists()
    assert not (chart_cache / "traefik-36.1.0.tgz").exists()
    assert unique not in docker("ps", "-a", "--format", "{{.Names}}").stdout
