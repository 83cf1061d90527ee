"""An env can leave a component out with a reason (envs/ci.yaml does, for what cannot be built
on CI's machines): its dependents still install, without the objects its API serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamforge.errors import ModelError
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


def probe_env(root: Path, text: str) -> ModelError:
    """The ModelError of loading env `probe` (extends local, then `text`) in a repo copy."""
    env = root / "envs"
    env.mkdir()
    (env / "probe.yaml").write_text(f"extends: local\nname: probe\ndescription: probe\n{text}")
    for name in ("homelab", "local"):
        (env / f"{name}.yaml").write_text((REPO / "envs" / f"{name}.yaml").read_text())
    (root / "platform").symlink_to(REPO / "platform")
    (root / "services").symlink_to(REPO / "services")
    with pytest.raises(ModelError) as err:
        load_platform(root, "probe")
    return err.value


def test_a_component_both_enabled_and_left_out_is_refused(tmp_path: Path) -> None:
    err = probe_env(
        tmp_path,
        "components:\n  strimzi:\n    enabled: true\n    left_out: not buildable on this machine\n",
    )
    assert "envs/probe.yaml" in str(err)
    assert "is both enabled and left out; remove enabled: true or left_out" in str(err)


def test_an_env_node_image_of_another_kubernetes_version_is_refused(tmp_path: Path) -> None:
    err = probe_env(tmp_path, "provider:\n  node_image: kindest/node:v1.30.0\n")
    assert "envs/probe.yaml:5: node_image kindest/node:v1.30.0 runs Kubernetes v1.30.0" in str(err)
