"""The GitLab Runner component (seed 9.1): its chart is not in the offline chart set, so its
rendered values are checked here, and its runners.config TOML against the runner's documented
config.toml keys (streamforge.render.runner_config)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from streamforge.model.load import HOMELAB_NODE_LABEL, load_platform
from streamforge.render import runner_config
from streamforge.render.context import Facts
from streamforge.render.env import render
from streamforge.validate.env import validate
from tests.conftest import REPO, missing

SHARED = REPO.parent / "shared"


def runner_values() -> dict:
    return render(load_platform(REPO, "homelab"), Facts()).values["gitlab-runner"]


def test_runner_has_the_seeds_settings() -> None:
    values = runner_values()
    assert values["gitlabUrl"] == "https://gitlab.dmz.home/"
    assert values["nodeSelector"] == {HOMELAB_NODE_LABEL: "k2w-9"}
    # the token is referenced by Secret name, never written
    assert values["runners"]["secret"] == "gitlab-runner-token"
    assert "runnerToken" not in values and "runnerRegistrationToken" not in values
    (runner,) = tomllib.loads(values["runners"]["config"])["runners"]
    kube = runner["kubernetes"]
    assert kube["privileged"] is True
    assert kube["service_account"] == "full-access-sa"
    assert kube["node_selector"] == {HOMELAB_NODE_LABEL: "k2w-9"}
    volumes = {v["name"] for kind in kube["volumes"].values() for v in kind}
    assert volumes == {"runner-home", "docker-config", "home-certificates"}
    assert runner_config.check(values) == []


def test_the_volumes_and_service_account_the_jobs_use_exist() -> None:
    out = render(load_platform(REPO, "homelab"), Facts())
    kinds = {(o["kind"], o["metadata"]["name"]) for o in out.objects["gitlab-runner"]}
    assert ("ServiceAccount", "full-access-sa") in kinds
    assert ("PersistentVolumeClaim", "runner-home") in kinds


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        ("privileged = true", "priviledged = true", "kubernetes.priviledged", "'privileged'"),
        ('mount_path = "/home/runner"', 'mountPath = "/home/runner"', "pvc[0].mountPath", ""),
        ("[[runners]]", "[runners]", "runners.config", "[[runners]]"),
        ('image = "alpine:3.22"', 'image = "alpine:3.22', "runners.config", "not valid TOML"),
    ],
)
def test_a_wrong_runner_config_is_named(old: str, new: str, path: str, message: str) -> None:
    values = runner_values()
    assert old in values["runners"]["config"]
    values["runners"]["config"] = values["runners"]["config"].replace(old, new)
    issues = runner_config.check(values)
    assert any(path in p and message in m for p, m in issues), issues


def test_validate_reports_a_misspelt_runner_key(model_copy: Path) -> None:
    if not (SHARED / "schemas").is_dir():
        missing(f"no shared schema data at {SHARED}")
    values = model_copy / "platform/components/gitlab-runner/values.yaml"
    values.write_text(values.read_text().replace("service_account =", "service_acount ="))
    errors = [
        str(f)
        for f in validate(
            model_copy, ["homelab"], SHARED / "schemas", SHARED / "reference" / "chart-values"
        ).errors
    ]
    assert any(
        "homelab: gitlab-runner values: runners.config[[runners]][0].kubernetes.service_acount" in e
        and "did you mean 'service_account'" in e
        for e in errors
    ), errors
