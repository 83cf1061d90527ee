"""A component (platform/components/<name>/component.yaml): its chart, namespace, profile and
dependencies."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, field_validator

from streamforge.model.schema.base import DnsLabel, Invalid, Profile, Strict

# An exact chart version (SemVer 2, as Helm requires of a chart's version); ranges and
# `latest` would make renders differ from day to day.
CHART_VERSION = r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"


class Chart(Strict):
    repo: Annotated[str, Field(pattern=r"^(https://|oci://)")]
    name: str
    version: str

    @field_validator("version")
    @classmethod
    def _exact(cls, value: str) -> str:
        if not re.match(CHART_VERSION, value):
            raise Invalid(
                f"chart version '{value}' is not an exact version",
                "pin the exact version the chart repository lists, e.g. `1.17.2`",
            )
        return value


class ReplicaTreatment(Strict):
    """How the replica treats a component that does not run there as it is (parity page)."""

    stand_in: DnsLabel | None = Field(default=None, description="component standing in for it")
    reason: str = Field(min_length=1)


class Component(Strict):
    """platform/components/<name>/component.yaml"""

    name: DnsLabel
    description: str
    namespace: DnsLabel
    namespace_labels: dict[str, str] = {}
    chart: Chart | None = None
    profile: Profile = "minimal"
    runs_in: list[Literal["replica", "production"]] = ["replica", "production"]
    depends_on: list[DnsLabel] = []
    node: DnsLabel | None = Field(default=None, description="homelab node it is pinned to")
    docs: str = ""
    wait_seconds: PositiveInt = 300
    # API groups whose CRDs it installs: an env that leaves it out drops such objects
    api_groups: list[str] = []
    # workloads (namespace/deployment/name) that read this component's objects only when they
    # start: `up` restarts them after applying changed objects, and waits for the rollout
    restarts: list[
        Annotated[str, Field(pattern=r"^[a-z0-9-]+/(deployment|daemonset|statefulset)/[a-z0-9-]+$")]
    ] = []
    replica: ReplicaTreatment | None = None
    # production's sizes and counts its templates read as `settings.<key>`; an env overrides
    # them in `components.<name>.settings` (model/facts.py)
    settings: dict[str, Any] = {}
