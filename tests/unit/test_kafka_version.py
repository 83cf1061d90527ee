"""The Kafka tier's broker runs the Kafka version production's cluster k3 runs."""

from __future__ import annotations

import re

import pytest

from streamforge.model.load import load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from tests.conftest import REPO


@pytest.mark.parametrize("env", ["homelab", "local"])
def test_the_test_broker_is_the_kafka_version_of_k3(env: str) -> None:
    objects = render(load_platform(REPO, env), Facts()).objects["strimzi"]
    (k3,) = [o for o in objects if o["kind"] == "Kafka" and o["metadata"]["name"] == "k3"]
    pom = (REPO / ".ci" / "kafka" / "pom.xml").read_text()
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert match and match[1] == k3["spec"]["kafka"]["version"]
