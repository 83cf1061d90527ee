"""An env can leave a component out with a reason (envs/ci.yaml does, for what cannot be built
on CI's machines): its dependents still install, without the objects its API serves."""

from __future__ import annotations

from streamforge.model.load import load_platform
from streamforge.render import services
from streamforge.render.env import render
from tests.conftest import REPO


def test_ci_env_leaves_out_what_cannot_be_built_and_keeps_its_dependents() -> None:
    ci = load_platform(REPO, "ci")
    assert set(ci.left_out) == {"cert-manager", "strimzi", "kafka-ui", "ingress-nginx", "reloader"}
    assert all(len(why) > 40 for why in ci.left_out.values())
    assert "traefik" in ci.enabled  # depends on cert-manager, which is left out
    assert not set(ci.left_out) & set(ci.enabled)


def test_objects_served_by_a_left_out_component_are_not_rendered() -> None:
    local, ci = render(load_platform(REPO, "local")), render(load_platform(REPO, "ci"))
    kinds = {o["kind"] for o in local.objects["traefik"]}
    assert "Certificate" in kinds
    assert {o["kind"] for o in ci.objects["traefik"]} == kinds - {"Certificate"}
    groups = {o["apiVersion"].split("/")[0] for objs in ci.objects.values() for o in objs}
    assert not groups & {"cert-manager.io", "kafka.strimzi.io"}


def test_services_deploy_without_kafka_objects_where_strimzi_is_left_out() -> None:
    ci, local = load_platform(REPO, "ci"), load_platform(REPO, "local")
    dummy = "dummy-service"
    assert services.chart_values(local, local.services[dummy])["kafka"]["enabled"] is True
    assert services.chart_values(ci, ci.services[dummy])["kafka"]["enabled"] is False
