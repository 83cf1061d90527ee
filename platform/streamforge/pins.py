"""The pinned tool and image versions (platform/pins.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from streamforge import sources

PINS_FILE = Path(__file__).resolve().parent.parent / "pins.yaml"


class Tool(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    url: str | None = None
    archive_member: str | None = None
    sha256: dict[str, str] = {}
    go_module: str | None = None
    image: str | None = None


class Pins(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tools: dict[str, Tool]
    images: dict[str, str]
    test_tools: dict[str, Tool] = {}
    test_images: dict[str, str] = {}


@cache
def pins(path: Path = PINS_FILE) -> Pins:
    data, _ = sources.load(path)
    return Pins.model_validate(data)
