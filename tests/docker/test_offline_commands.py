"""`status` and `down` with no kind on the machine and no way to download it: they use what is
there and say when there is nothing to do. A real Docker engine; the download is replaced by a
guard that fails the test if anything tries it (no network to download from here)."""

from __future__ import annotations

import functools
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamforge.commands.cli import main
from streamforge.execute import docker_host, registry, tools
from tests.conftest import copy_model


@pytest.fixture
def offline_repo(
    docker: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str]]:
    """A copy of the model whose kind cluster name is unique; no kind anywhere; downloads
    fail the test; the registry looked at is a unique (absent) one."""
    cluster = f"sf-offline-{uuid.uuid4().hex[:8]}"
    root = copy_model(tmp_path / "repo")
    local = root / "envs/local.yaml"
    local.write_text(
        local.read_text().replace("cluster_name: streamforge", f"cluster_name: {cluster}")
    )
    monkeypatch.chdir(root)
    monkeypatch.delenv("STREAMFORGE_KIND", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # docker, no kind

    def no_download(*args: object) -> None:
        raise AssertionError("status/down tried to download a tool")

    monkeypatch.setattr(tools, "download", no_download)
    name = f"sf-offline-registry-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(
        registry, "remove_registry", functools.partial(registry.remove_registry, name)
    )
    monkeypatch.setattr(
        registry, "registry_running", functools.partial(registry.registry_running, name)
    )
    assert shutil.which("kind") is None
    yield root, cluster


def test_status_without_kind_says_the_cluster_is_absent(offline_repo, capsys) -> None:
    _, cluster = offline_repo
    assert main(["status"]) == 1  # no replica: incomplete
    err = capsys.readouterr().err
    assert f"kind cluster '{cluster}': absent; `nox -s up` creates the replica" in err


def test_down_without_kind_says_there_is_nothing_to_do(offline_repo, capsys) -> None:
    _, cluster = offline_repo
    assert main(["down"]) == 0
    assert f"no kind cluster named '{cluster}': nothing to delete" in capsys.readouterr().out


@pytest.fixture
def node_container(offline_repo: tuple[Path, str]) -> Iterator[str]:
    """A stopped container carrying kind's cluster label, from an empty image of our own."""
    _, cluster = offline_repo
    tag = f"sf-offline-empty:{uuid.uuid4().hex[:8]}"
    made = subprocess.run(
        ["docker", "import", "-", tag], input=b"", capture_output=True, check=False
    )
    if made.returncode != 0:  # an empty tar stream: make one explicitly
        import io
        import tarfile

        buffer = io.BytesIO()
        tarfile.open(fileobj=buffer, mode="w").close()
        made = subprocess.run(
            ["docker", "import", "-", tag],
            input=buffer.getvalue(),
            capture_output=True,
            check=False,
        )
    assert made.returncode == 0, made.stderr
    name = f"{cluster}-worker"
    created = subprocess.run(
        [
            "docker",
            "create",
            "--name",
            name,
            "--label",
            f"{docker_host.KIND_CLUSTER_LABEL}={cluster}",
            tag,
            "/none",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        assert created.returncode == 0, created.stderr
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        subprocess.run(["docker", "image", "rm", tag], capture_output=True, check=False)


@pytest.mark.parametrize("command", ["status", "down"])
def test_a_cluster_without_kind_here_names_the_fix(
    offline_repo, node_container: str, capsys, command: str
) -> None:
    assert main([command]) == 1
    err = capsys.readouterr().err
    assert "has node containers but no kind binary" in err
    assert "STREAMFORGE_KIND=/path/to/kind" in err
    # nothing was removed
    assert (
        subprocess.run(
            ["docker", "container", "inspect", node_container], capture_output=True, check=False
        ).returncode
        == 0
    )
