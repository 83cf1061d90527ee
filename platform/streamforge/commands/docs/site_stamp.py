"""The built site's stamp: `nox -s docs` writes the hash of the site's inputs into the built
site, so `up` can tell a site built from the current docs and data from a stale one."""

from __future__ import annotations

from pathlib import Path

from streamforge.errors import StreamforgeError
from streamforge.render.image_refs import site_inputs_hash

SITE_DIR = "build/site"  # mkdocs.yml's site_dir
STAMP = ".site-inputs"  # written into the built site: the inputs hash it was built from


def stamp(site: Path, root: Path) -> None:
    """Write the inputs hash of the repository at `root` into the built `site`."""
    (site / STAMP).write_text(site_inputs_hash(root) + "\n")


def built_site(root: Path) -> Path:
    """The site `nox -s docs` built under `root` (SITE_DIR), checked to be built from the
    current inputs. Raises StreamforgeError, with the command that fixes it, when there is
    none or it is older than docs/ or the data."""
    site = root / SITE_DIR
    stamp_file = site / STAMP
    if not stamp_file.is_file():
        raise StreamforgeError(f"no built docs site in {site}; run `nox -s docs` first")
    if stamp_file.read_text().strip() != site_inputs_hash(root):
        raise StreamforgeError(
            f"the docs site in {site} is older than docs/ or the data; run `nox -s docs` again"
        )
    return site
