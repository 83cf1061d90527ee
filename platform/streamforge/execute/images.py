"""Images the project builds: the unified base image, project and service images FROM it, and
the docs site's; each pushed to the local registry under its content-addressed reference
(render/image_refs.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from streamforge import console, run
from streamforge.errors import StreamforgeError
from streamforge.execute import docker_host
from streamforge.execute.build import build_image
from streamforge.plan.actions import PushDocsSite, PushImage
from streamforge.render import image_refs

SITE_DIR = "build/site"  # mkdocs.yml's site_dir
STAMP = ".site-inputs"  # written into the built site: the inputs hash it was built from


def build_base(root: Path) -> str:
    """Build platform/Dockerfile as streamforge/base:<content hash> and :dev; return the tag."""
    tag = image_refs.base_image(root)
    build_image(
        "base-image",
        root,
        root / "platform" / "Dockerfile",
        [tag, f"{image_refs.BASE_IMAGE}:dev"],
        {"BASE_IMAGE": image_refs.python_base()},
        docker_host.MANAGED,
    )
    return tag


def ensure_base(root: Path) -> str:
    """The base image's tag, built first when Docker does not have it."""
    tag = image_refs.base_image(root)
    if not docker_host.image_exists(tag):
        console.step(f"building the base image {tag}")
        build_base(root)
    return tag


def push_image(step: str, action: PushImage) -> None:
    """Build `action.dockerfile` FROM the base image and push it. Raises StreamforgeError
    when the Dockerfile is missing (a service folder without one)."""
    if not action.dockerfile.is_file():
        name = action.dockerfile.parent.name
        raise StreamforgeError(
            f"services/{name} has no Dockerfile; regenerate it from the scaffold "
            f"(`nox -s new_service -- --name {name}` in a scratch checkout) and copy the Dockerfile"
        )
    build_image(
        step,
        action.context,
        action.dockerfile,
        [action.ref],
        {"BASE_IMAGE": action.base},
        docker_host.MANAGED,
    )
    docker_host.push(step, action.ref)


def built_site(root: Path) -> Path:
    """The site `nox -s docs` built, checked to be built from the current inputs. Raises
    StreamforgeError when there is none or it is older than its inputs."""
    site = root / SITE_DIR
    stamp = site / STAMP
    if not stamp.is_file():
        raise StreamforgeError(f"no built docs site in {site}; run `nox -s docs` first")
    if stamp.read_text().strip() != image_refs.site_inputs_hash(root):
        raise StreamforgeError(
            f"the docs site in {site} is older than docs/ or the data; run `nox -s docs` again"
        )
    return site


def push_docs_site(root: Path, action: PushDocsSite) -> None:
    """Build the site (strict) unless it is current, then its image FROM the base image."""
    step = "image:docs-site"
    try:
        site = built_site(root)
    except StreamforgeError:
        run.run(
            step,
            [sys.executable, "-m", "mkdocs", "build", "--strict"],
            "fix the docs build error above (`nox -s docs` shows the same); mkdocs comes "
            "with `pip install -e .[docs]`",
            env={"NO_MKDOCS_2_WARNING": "1"},
        )
        site = built_site(root)
    dockerfile = root / "platform" / "docs-site" / "Dockerfile"
    push_image(step, PushImage(action.ref, site, dockerfile, action.base))
