"""What every typed model of the platform shares: strict models (unknown keys refused), the
refusal that carries its fix, and the name forms Kubernetes accepts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

PROFILES = ("minimal", "default", "full")
Profile = Literal["minimal", "default", "full"]
# a DNS label (RFC 1123), the form of Kubernetes object and namespace names
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DnsLabel = Annotated[str, Field(pattern=DNS_LABEL)]


class Invalid(ValueError):
    """A validator's refusal with the fix apart, so the loader prints `problem; fix`.

    An example in a fix is written in backticks and is itself a valid value of the field
    (tests feed every such example back)."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


class Strict(BaseModel):
    """A model that refuses unknown keys (pydantic `extra_forbidden`) and is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
