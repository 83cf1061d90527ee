"""Facts derived from the model in one place, for Python and templates alike.

- `settings`: a component's template parameters in an env (sizes, counts, switches):
  production's in its component.yaml, overridden key by key by the env's
  `components.<name>.settings` (envs/local.yaml writes the replica's).
- `kafka`: the Kafka cluster every client reaches: its name, namespace, TLS listener port and
  broker count, read from the strimzi component, and what Strimzi derives from them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streamforge.errors import ModelError
from streamforge.model.sources import Origins, deep_merge

if TYPE_CHECKING:
    from streamforge.model.load import Platform

KAFKA_COMPONENT = "strimzi"


def settings(platform: Platform, name: str) -> dict[str, Any]:
    """Component `name`'s settings in the platform's env: component.yaml's `settings` with the
    env's `components.<name>.settings` deep-merged over them.

    Raises ModelError (`file:line: problem; fix`) for an env key the component does not
    define: a typo would otherwise leave production's value in place without a word."""
    defaults = platform.components[name].settings
    setting = platform.env.components.get(name)
    override = setting.settings if setting else {}
    unknown = [key for key in override if key not in defaults]
    if unknown:
        origins = platform.origins.get("env", Origins())
        problems = []
        for key in unknown:
            guess = difflib.get_close_matches(key, list(defaults), n=1)
            problems.append(
                origins.problem(
                    ("components", name, "settings", key),
                    f"component {name} has no setting '{key}'",
                    f"use {guess[0]}"
                    if guess
                    else f"use one of: {', '.join(defaults) or 'none (it has no settings)'}",
                )
            )
        raise ModelError(problems)
    merged: dict[str, Any] = deep_merge(defaults, override)
    return merged


@dataclass(frozen=True)
class KafkaCluster:
    """The Strimzi Kafka cluster of an env (the homelab's `k3`)."""

    name: str
    namespace: str
    port: int  # the internal TLS listener, SCRAM-SHA-512 (production's SASL_SSL)
    brokers: int

    @property
    def bootstrap(self) -> str:
        """host:port of the bootstrap Service; Strimzi names it `<cluster>-kafka-bootstrap`."""
        return f"{self.name}-kafka-bootstrap.{self.namespace}.svc:{self.port}"

    @property
    def ca_secret(self) -> str:
        """The Secret with the cluster CA clients trust; Strimzi names it
        `<cluster>-cluster-ca-cert` (key ca.crt)."""
        return f"{self.name}-cluster-ca-cert"

    @property
    def replication_factor(self) -> int:
        """Replicas of internal topics and the default for new ones: 3, fewer brokers permitting."""
        return min(3, self.brokers)

    @property
    def min_insync(self) -> int:
        """min.insync.replicas: one fewer than the replicas, so one broker may be down."""
        return max(1, self.replication_factor - 1)


def _valid(value: Any, kind: type) -> bool:
    """A non-empty string, or a positive whole number (YAML's true is no number)."""
    if kind is str:
        return isinstance(value, str) and value != ""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def kafka(platform: Platform) -> KafkaCluster:
    """The env's Kafka cluster, from the strimzi component: its namespace, and its settings
    `cluster`, `port` and `brokers` (the env's override included).

    Raises ModelError when a setting has the wrong type."""
    component = platform.components[KAFKA_COMPONENT]
    values = settings(platform, KAFKA_COMPONENT)
    setting = platform.env.components.get(KAFKA_COMPONENT)
    for key, kind in (("cluster", str), ("port", int), ("brokers", int)):
        value = values.get(key)
        if _valid(value, kind):
            continue
        # point at the env when it wrote the value, else at component.yaml
        in_env = setting is not None and key in setting.settings
        origins = platform.origins.get("env" if in_env else f"component:{KAFKA_COMPONENT}")
        loc = ("components", KAFKA_COMPONENT, "settings", key) if in_env else ("settings", key)
        raise ModelError(
            [
                (origins or Origins()).problem(
                    loc,
                    f"Kafka setting '{key}' is {value!r}",
                    f"write a {'non-empty name' if kind is str else 'positive number'}",
                )
            ]
        )
    return KafkaCluster(
        name=values["cluster"],
        namespace=component.namespace,
        port=values["port"],
        brokers=values["brokers"],
    )
