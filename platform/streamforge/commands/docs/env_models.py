"""The env models the generated pages describe, loaded so that a broken model stops the build
with its `file:line` message."""

from __future__ import annotations

from pathlib import Path

from streamforge.errors import ModelError
from streamforge.model.load import Platform, env_names, load_platform


class DocsGenerationError(Exception):
    """The repository's data could not be turned into a page; the message says why and how."""


def load_env(root: Path, env: str, profile: str | None = None) -> Platform:
    """The platform of `env` (and `profile`) under `root`.

    Raises DocsGenerationError carrying the model's `file:line: problem` message."""
    try:
        return load_platform(root, env, profile)
    except ModelError as exc:
        raise DocsGenerationError(
            f"the model of env '{env}' does not load, so the reference pages cannot be "
            f"generated:\n{exc}"
        ) from exc


def main_env(root: Path) -> str:
    """`homelab` when it exists, else the first env by name; DocsGenerationError without any."""
    names = env_names(root)
    if not names:
        raise DocsGenerationError(f"no env files in {root / 'envs'}; add envs/<name>.yaml")
    return "homelab" if "homelab" in names else names[0]
