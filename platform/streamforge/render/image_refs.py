"""Content-addressed image references: every image the project builds is tagged with a hash
of what it is built from, so a tag changes exactly when the image would.

- the unified base image: `streamforge/base:<hash of platform/Dockerfile, the
  streamforge_utils package and its parent image>`;
- project images (fake-gpu-plugin) and services: `<env registry>/<name>:<tree hash>`;
- the docs site: `<env registry>/docs-site:<hash of SITE_INPUTS>`.

In the replica every one of them is built FROM the base image and pulled IfNotPresent, so
there the tag also covers the base image (`with_base`). The homelab keeps GitLab's rule: the
tree hash alone (`.gitlab/tree-hash.sh`). Nothing here changes anything: it reads files, and
asks `git ls-files` which of them are source.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from streamforge.model.load import Platform
from streamforge.model.pins import pins

BASE_IMAGE = "streamforge/base"
# Project images the replica builds: name -> (build context, Dockerfile in it)
PROJECT_IMAGES = {"fake-gpu-plugin": ("platform/fake_gpu", "Dockerfile")}
# Everything the docs site is built from: the docs-site image's tag is their hash, and
# `mkdocs serve` rebuilds when one of them changes.
SITE_INPUTS = (
    "mkdocs.yml",
    "docs",
    "noxfile.py",
    "envs",
    "services",
    "platform/components",
    "platform/docs-site",
    "platform/pins.yaml",
    "platform/streamforge/commands/bom.py",
    "platform/streamforge/commands/docs",
    "platform/streamforge/render/parity.py",
)
# Never part of a source when git cannot list it
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "build", "dist"}


def source_files(path: Path) -> list[Path]:
    """The files under `path` that make up the source: in a git checkout the tracked and the
    not-ignored untracked ones (so builds, caches and generated stubs never count), elsewhere
    every file but caches. Sorted, so hashes over them are stable."""
    if path.is_file():
        return [path]
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            cwd=path,
            capture_output=True,
            check=False,
        )
        if path.is_dir()
        else None
    )
    if listed is not None and listed.returncode == 0:
        files = [path / name for name in listed.stdout.decode().split("\0") if name]
        return sorted(f for f in files if f.is_file())
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not any(
            part in SKIP_PARTS or part.endswith(".egg-info") for part in p.relative_to(path).parts
        )
    )


def files_hash(files: Iterable[Path], base: Path, length: int = 12) -> str:
    """A short hash of the paths (relative to `base`) and contents of `files`."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:length]


def tree_hash(folder: Path, length: int = 12) -> str:
    """A short hash of every source file under `folder`: the tag of an image built from it."""
    return files_hash(source_files(folder), folder, length)


def base_image_hash(root: Path, parent: str) -> str:
    """The content hash of the unified base image: its Dockerfile, the streamforge_utils
    package it installs and its parent image reference `parent` (12 hex digits)."""
    parts = [
        (root / "platform" / "Dockerfile").read_bytes(),
        parent.encode(),
        tree_hash(root / "platform" / "streamforge_utils").encode(),
    ]
    return hashlib.sha256(b"/".join(parts)).hexdigest()[:12]


def with_base(platform: Platform, tag: str) -> str:
    """`tag`, made to cover the base image in the replica: images there are built FROM the
    base image and pulled IfNotPresent, so a changed base must give them new tags. The
    homelab keeps GitLab's rule (the tree hash alone, `.gitlab/tree-hash.sh`)."""
    if not platform.env.is_replica:
        return tag
    base = base_image_hash(platform.root, python_base())
    return hashlib.sha256(f"{tag}/{base}".encode()).hexdigest()[:12]


def project_image(platform: Platform, name: str, source: Path) -> str:
    """A project image in the env's registry, tagged with the content hash of `source`
    (its Dockerfile included) and, in the replica, of the base image (`with_base`)."""
    return f"{platform.env.image_registry}/{name}:{with_base(platform, tree_hash(source))}"


def python_base() -> str:
    """The parent of the base image: the pin, or STREAMFORGE_PYTHON_BASE (CI's stand-in)."""
    return os.environ.get("STREAMFORGE_PYTHON_BASE") or pins().images["python_base"]


def base_image(root: Path) -> str:
    """streamforge/base:<hash of its Dockerfile, the utils package and its parent image>."""
    return f"{BASE_IMAGE}:{base_image_hash(root, python_base())}"


def service_image(platform: Platform, name: str) -> str:
    """<env image registry>/<name>:<content hash of services/<name>>."""
    return project_image(platform, name, platform.service_dir(name))


def project_images(platform: Platform) -> dict[str, str]:
    """{name: reference} of the PROJECT_IMAGES whose source folder is in the checkout."""
    root = platform.root
    return {
        name: project_image(platform, name, root / source)
        for name, (source, _) in PROJECT_IMAGES.items()
        if (root / source).is_dir()
    }


def site_inputs_hash(root: Path, length: int = 12) -> str:
    """A short hash of everything the built site is made from (`SITE_INPUTS`)."""
    files = [file for rel in SITE_INPUTS for file in source_files(root / rel)]
    return files_hash(files, root, length)


def site_image(platform: Platform) -> str:
    """The docs-site image in the env's registry, tagged by the site's inputs and the base
    image it is built FROM (`with_base`)."""
    tag = with_base(platform, site_inputs_hash(platform.root))
    return f"{platform.env.image_registry}/docs-site:{tag}"
