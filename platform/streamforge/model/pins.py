"""The pinned tool and image versions (platform/pins.yaml).

A pin that is malformed (a checksum that is not 64 hex digits, an image digest that is not
`sha256:` and 64 hex digits) or missing is refused when the file is read, as a ModelError
naming `pins.yaml:line` and the fix."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from streamforge.errors import ModelError, Problem
from streamforge.model import sources
from streamforge.model.schema.base import Invalid

PINS_FILE = Path(__file__).resolve().parents[2] / "pins.yaml"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# name[:tag][@sha256:<64 hex>], the reference form docker and containerd accept
IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._/-]*(:\d+/[a-z0-9._/-]+)?(:[\w][\w.-]{0,127})?$")


def _sha256(value: str) -> str:
    if not SHA256.match(value):
        raise Invalid(
            f"'{value}' is not a SHA-256 checksum ({len(value)} characters)",
            "write the 64 lower-case hex digits the release publishes (`sha256sum` prints them)",
        )
    return value


def _image(value: str) -> str:
    name, at, digest = value.partition("@")
    if at and not (digest.startswith("sha256:") and SHA256.match(digest[7:])):
        raise Invalid(
            f"image digest '{digest}' is not sha256: and 64 hex digits",
            f"write {name}@sha256:<64 hex digits> (`docker buildx imagetools inspect {name}` "
            "shows it)",
        )
    if not IMAGE_NAME.match(name):
        raise Invalid(
            f"'{name}' is not an image reference", "write name:tag, e.g. `registry:2.8.3`"
        )
    return value


Sha256 = Annotated[str, AfterValidator(_sha256)]
ImageRef = Annotated[str, AfterValidator(_image)]
# what the toolkit reads from the pins: a missing one is named here, not a KeyError later
REQUIRED = {
    "tools": ("kind", "helm", "kubectl"),
    "images": ("kind_node", "registry", "python_base"),
}
EXAMPLES = {
    "kind_node": "kindest/node:v1.36.1@sha256:<64 hex digits>",
    "registry": "registry:2.8.3",
    "python_base": "python:3.11-slim-bookworm",
}


class Tool(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: Annotated[str, Field(pattern=r"^v?\d+\.\d+\.\d+$")]
    url: str | None = None
    archive_member: str | None = None
    sha256: dict[str, Sha256] = {}
    go_module: str | None = None
    image: ImageRef | None = None


class Pins(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tools: dict[str, Tool]
    images: dict[str, ImageRef]
    test_tools: dict[str, Tool] = {}
    test_images: dict[str, str] = {}


def load_pins(path: Path) -> Pins:
    """Read and check a pins file; raises ModelError with every problem in it."""
    from streamforge.model.explain import validate

    data, origins = sources.load(path)
    problems: list[Problem] = []
    found = validate(Pins, data, origins, problems)
    if found is not None:
        for section, names in REQUIRED.items():
            have = getattr(found, section)
            for name in names:
                if name not in have:
                    example = EXAMPLES.get(name, "version: vX.Y.Z")
                    problems.append(
                        origins.problem(
                            (section,),
                            f"no pin for {section}.{name}",
                            f"add it under {section}: ({name}: {example})",
                        )
                    )
    if problems or found is None:
        raise ModelError(problems)
    return found


@cache
def _read(path: Path) -> Pins:
    return load_pins(path)


def pins() -> Pins:
    """The pins of platform/pins.yaml (read once)."""
    return _read(PINS_FILE)
