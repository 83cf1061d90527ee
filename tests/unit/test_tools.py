"""Resolving the pinned kind/helm/kubectl. The "binaries" here are small shell scripts and the
"release server" is a loopback HTTP server: test doubles for GitHub and get.helm.sh, which
cannot be reached from here. The checksum and caching code under test is the real one."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamforge.execute.tools import ToolError, platform_key, resolve
from streamforge.model.pins import Tool

FAKE_KIND = "#!/bin/sh\necho 'kind v0.32.0 go1.26 linux/amd64'\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("STREAMFORGE_KIND", raising=False)
    monkeypatch.delenv("STREAMFORGE_HELM", raising=False)
    return tmp_path / "cache" / "streamforge" / "tools"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def kind_tool(base: str, sha: str) -> Tool:
    return Tool(
        version="v0.32.0", url=base + "/kind-{version}-{os}-{arch}", sha256={platform_key(): sha}
    )


def test_download_verified_and_cached(cache: Path, server: tuple[str, Path]) -> None:
    base, www = server
    os_, arch = platform_key().split("-")
    (www / f"kind-v0.32.0-{os_}-{arch}").write_text(FAKE_KIND)
    tool = kind_tool(base, hashlib.sha256(FAKE_KIND.encode()).hexdigest())
    found = resolve("kind", tool=tool)
    assert found.source == "download"
    assert Path(found.command[0]).read_text() == FAKE_KIND
    # the second time it comes from the cache, without the server
    (www / f"kind-v0.32.0-{os_}-{arch}").unlink()
    assert resolve("kind", tool=tool).source == "cache"


def test_checksum_mismatch_is_refused_and_nothing_is_kept(
    cache: Path, server: tuple[str, Path]
) -> None:
    base, www = server
    os_, arch = platform_key().split("-")
    (www / f"kind-v0.32.0-{os_}-{arch}").write_text(FAKE_KIND + "tampered\n")
    tool = kind_tool(base, hashlib.sha256(FAKE_KIND.encode()).hexdigest())
    with pytest.raises(ToolError, match="checksum mismatch"):
        resolve("kind", tool=tool)
    assert not list(cache.rglob("kind*")) or not any(p.is_file() for p in cache.rglob("*"))


def test_archive_member_is_extracted(cache: Path, server: tuple[str, Path]) -> None:
    base, www = server
    os_, arch = platform_key().split("-")
    script = b"#!/bin/sh\necho v3.21.4\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"{os_}-{arch}/helm")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
    (www / f"helm-v3.21.4-{os_}-{arch}.tar.gz").write_bytes(buffer.getvalue())
    tool = Tool(
        version="v3.21.4",
        url=base + "/helm-{version}-{os}-{arch}.tar.gz",
        archive_member="{os}-{arch}/helm",
        sha256={platform_key(): hashlib.sha256(buffer.getvalue()).hexdigest()},
    )
    found = resolve("helm", tool=tool)
    assert Path(found.command[0]).read_bytes() == script


def test_path_tool_used_only_at_the_pinned_version(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "empty-bin"
    bin_dir.mkdir()
    (bin_dir / "kind").write_text(FAKE_KIND)
    (bin_dir / "kind").chmod(0o755)
    tool = Tool(version="v0.32.0")
    assert resolve("kind", tool=tool).source == "PATH"
    (bin_dir / "kind").write_text(FAKE_KIND.replace("v0.32.0", "v0.31.0"))
    with pytest.raises(ToolError, match=r"kind v0\.32\.0 not found \(PATH has v0\.31\.0\)"):
        resolve("kind", tool=tool)


def test_override_wins_and_must_exist(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "my-kind"
    binary.write_text(FAKE_KIND)
    monkeypatch.setenv("STREAMFORGE_KIND", str(binary))
    assert resolve("kind", tool=Tool(version="v0.32.0")).command == (str(binary),)
    monkeypatch.setenv("STREAMFORGE_KIND", str(tmp_path / "nope"))
    with pytest.raises(ToolError, match=r"STREAMFORGE_KIND=.* is not a file"):
        resolve("kind", tool=Tool(version="v0.32.0"))


def test_helm_falls_back_to_its_image(cache: Path) -> None:
    tool = Tool(version="v3.21.4", image="alpine/helm:3.21.4")
    found = resolve("helm", tool=tool)
    assert (found.source, found.command) == ("container", ("alpine/helm:3.21.4",))


def test_every_pinned_download_has_a_checksum_per_platform() -> None:
    from streamforge.model.pins import pins

    for name, tool in pins().tools.items():
        if tool.url:
            assert set(tool.sha256) == {
                "linux-amd64",
                "linux-arm64",
                "darwin-amd64",
                "darwin-arm64",
            }, name
            assert all(len(v) == 64 for v in tool.sha256.values()), name


def test_unreachable_internet_is_one_line_naming_every_offline_setting() -> None:
    import socket

    from streamforge.execute.tools import internet_problem

    with socket.socket() as probe:  # a port nothing listens on: connecting is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    message = internet_problem(f"https://127.0.0.1:{port}/kind")
    assert message is not None and "\n" not in message
    assert message.startswith(f"the internet is unreachable (127.0.0.1:{port}")
    for setting in (
        "STREAMFORGE_KIND=/path/to/kind",
        "STREAMFORGE_PYTHON_BASE=",
        "`nox -s prefetch`",
        "`nox -s up -- --offline`",
    ):
        assert setting in message
