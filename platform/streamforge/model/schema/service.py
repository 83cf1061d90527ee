"""A service of the project (services/<name>/service.yaml): its port, host, Kafka topics, GPUs
and volumes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt, field_validator

from streamforge.model.schema.base import DnsLabel, Invalid, Strict

# Kafka's topic name rule (clients Topic.validate): at most 249 characters of [a-zA-Z0-9._-],
# not "." or ".."; the KafkaTopic resource's name must also be a DNS subdomain, so lower case
# and not only dots.
KAFKA_TOPIC_MAX = 249


class KafkaTopic(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9._-]+$", max_length=KAFKA_TOPIC_MAX)]

    @field_validator("name")
    @classmethod
    def _not_dots(cls, value: str) -> str:
        if not value.strip("."):
            raise Invalid(
                f"topic name '{value}' is only dots, which Kafka or Kubernetes refuse",
                "use letters or digits, e.g. `market.ticks`",
            )
        return value

    partitions: PositiveInt = 1
    replicas: PositiveInt = 1


class ServiceKafka(Strict):
    user: DnsLabel | None = None
    topics: list[KafkaTopic] = []
    consumes: list[str] = []


class Volume(Strict):
    name: DnsLabel
    class_: Literal["rwo", "rwx"] = Field(alias="class")
    size: Annotated[str, Field(pattern=r"^\d+(Mi|Gi|Ti)$")]
    mount: Annotated[str, Field(pattern=r"^/")]


class Service(Strict):
    """services/<name>/service.yaml"""

    name: DnsLabel
    description: str
    owner: str
    port: Annotated[int, Field(ge=1024, le=65535)] = 8080
    host: DnsLabel | None = None
    kafka: ServiceKafka = ServiceKafka()
    gpus: Annotated[int, Field(ge=0)] = 0
    volumes: list[Volume] = []
    node: DnsLabel | None = None

    @property
    def hostname(self) -> str:
        return self.host or self.name
