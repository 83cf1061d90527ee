"""What the replica runs differently is written in envs/, and each Kafka fact in one place.

Components hold production's sizes (component.yaml `settings`, values.yaml); envs/local.yaml
overrides them. The Kafka cluster's name, namespace, bootstrap address and broker count come
from the strimzi component (model/facts.py) to every template and to the services' values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from streamforge.errors import ModelError
from streamforge.model.facts import kafka
from streamforge.model.load import load_platform
from streamforge.render import services as service_values
from streamforge.render.context import Facts
from streamforge.render.env import render
from streamforge.render.releases import merge_values
from tests.conftest import REPO

Edit = Callable[[Path, str, str], None]


def line_of(path: Path, snippet: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if snippet in line)


def objects(root: Path, env: str, component: str, profile: str | None = None) -> list[Any]:
    rendered = render(load_platform(root, env, profile), Facts())
    return rendered.objects[component]


def kind(objs: list[Any], name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == name)


def test_the_replica_runs_one_small_broker_and_production_three() -> None:
    local = objects(REPO, "local", "strimzi")
    homelab = objects(REPO, "homelab", "strimzi")
    assert kind(local, "KafkaNodePool")["spec"]["replicas"] == 1
    assert kind(homelab, "KafkaNodePool")["spec"]["replicas"] == 3
    assert kind(local, "KafkaNodePool")["spec"]["storage"]["volumes"][0]["size"] == "2Gi"
    assert kind(homelab, "KafkaNodePool")["spec"]["storage"]["volumes"][0]["size"] == "100Gi"
    assert kind(local, "Kafka")["spec"]["kafka"]["config"]["min.insync.replicas"] == 1
    assert kind(homelab, "Kafka")["spec"]["kafka"]["config"]["min.insync.replicas"] == 2


def test_the_broker_count_in_the_env_sets_replication_and_topic_replicas(
    model_copy: Path, edit: Edit
) -> None:
    # three brokers in the replica: the replication factors and the service's topic follow
    edit(model_copy / "envs/local.yaml", "settings: {brokers: 1,", "settings: {brokers: 3,")
    strimzi = objects(model_copy, "local", "strimzi")
    assert kind(strimzi, "KafkaNodePool")["spec"]["replicas"] == 3
    config = kind(strimzi, "Kafka")["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    platform = load_platform(model_copy, "local")
    topics = service_values.chart_values(platform, platform.services["dummy-service"])
    assert topics["kafka"]["topics"][0]["replicas"] == 3  # no longer capped at one broker


def test_renaming_the_kafka_cluster_in_one_place_renames_it_everywhere(
    model_copy: Path, edit: Edit
) -> None:
    edit(model_copy / "platform/components/strimzi/component.yaml", "cluster: k3", "cluster: k4")
    rendered = render(load_platform(model_copy, "local", "full"), Facts())
    text = "\n".join(rendered.files.values())
    assert "k3" not in text.replace("k3s", "")  # not one stale reference left
    kafka_ui = rendered.values["kafka-ui"]["yamlApplicationConfig"]["kafka"]["clusters"][0]
    assert kafka_ui["bootstrapServers"] == "k4-kafka-bootstrap.kafka.svc:9093"
    assert kind(rendered.objects["strimzi"], "Kafka")["metadata"]["name"] == "k4"
    service = YAML(typ="safe").load(rendered.files["values/services/dummy-service.yaml"])
    assert service["kafka"]["cluster"] == "k4"
    assert service["kafka"]["bootstrapServers"] == "k4-kafka-bootstrap.kafka.svc:9093"


def test_copies_that_cannot_read_the_model_match_it() -> None:
    """The service chart's defaults, the services' client library and `services.NAMESPACE`
    cannot load the model; they must hold what it derives."""
    from streamforge_utils.settings import DEFAULT_BOOTSTRAP

    cluster = kafka(load_platform(REPO, "homelab"))
    assert cluster.bootstrap == DEFAULT_BOOTSTRAP
    assert cluster.namespace == service_values.NAMESPACE
    chart = YAML(typ="safe").load((REPO / "platform/charts/service/values.yaml").read_text())
    assert chart["kafka"]["cluster"] == cluster.name
    assert chart["kafka"]["namespace"] == cluster.namespace
    assert chart["kafka"]["bootstrapServers"] == cluster.bootstrap


def test_a_setting_the_component_does_not_have_is_refused_with_its_line(
    model_copy: Path, edit: Edit
) -> None:
    env = model_copy / "envs/local.yaml"
    edit(env, "settings: {brokers: 1,", "settings: {brokerz: 1,")
    with pytest.raises(ModelError) as err:
        render(load_platform(model_copy, "local"), Facts())
    line = line_of(env, "brokerz")
    assert str(err.value) == (
        f"envs/local.yaml:{line}: component strimzi has no setting 'brokerz'; use brokers"
    )


def test_a_broker_count_that_is_no_number_is_refused_with_its_line(
    model_copy: Path, edit: Edit
) -> None:
    env = model_copy / "envs/local.yaml"
    edit(env, "settings: {brokers: 1,", "settings: {brokers: one,")
    with pytest.raises(ModelError) as err:
        render(load_platform(model_copy, "local"), Facts())
    line = line_of(env, "brokers: one")
    assert str(err.value) == (
        f"envs/local.yaml:{line}: Kafka setting 'brokers' is 'one'; write a positive number"
    )


def test_production_only_values_are_removed_in_the_replica_by_null() -> None:
    local = render(load_platform(REPO, "local", "full"), Facts()).values
    homelab = render(load_platform(REPO, "homelab"), Facts()).values
    grafana_local = local["kube-prometheus-stack"]["grafana"]
    grafana_homelab = homelab["kube-prometheus-stack"]["grafana"]
    # production reads the admin from a Secret and signs in through Keycloak; the replica not
    assert grafana_homelab["admin"]["existingSecret"] == "grafana-admin"
    assert "admin" not in grafana_local
    assert "auth.generic_oauth" in grafana_homelab["grafana.ini"]
    assert grafana_local["grafana.ini"] == {"server": {"root_url": "https://grafana.dmz.home"}}
    assert "config" not in local["kube-prometheus-stack"]["alertmanager"]
    assert "secrets" not in local["kube-prometheus-stack"]["alertmanager"]["alertmanagerSpec"]


def test_null_removes_a_component_key_and_reaches_helm_for_a_chart_default() -> None:
    base = {"a": {"keep": 1, "drop": {"x": 1}}, "list": [1, 2]}
    merged = merge_values(base, {"a": {"drop": None, "chart_default": None}, "list": [3]})
    # the component's key goes; a null for a key it does not write stays, so Helm removes the
    # chart's default (helm.sh: "Deleting a default key")
    assert merged == {"a": {"keep": 1, "chart_default": None}, "list": [3]}
    assert base == {"a": {"keep": 1, "drop": {"x": 1}}, "list": [1, 2]}  # inputs unchanged
