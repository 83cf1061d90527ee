"""helm run through python-on-whales in a container, the path `up` takes where no helm binary
of the pinned version exists. The image is built here from the same helm binary (no image
registry is reachable to pull the pinned helm image)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from streamforge.errors import StepError
from streamforge.execute.helm import helm
from streamforge.execute.tools import Resolved, resolve
from tests.conftest import missing
from tests.docker.conftest import build


@pytest.fixture(scope="module")
def helm_image(parent_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    try:
        local = resolve("helm", allow_download=False)
    except Exception as exc:
        missing(f"the pinned helm binary is not installed ({exc})")
    if local.source == "container":
        missing("the pinned helm binary is not installed")
    context = tmp_path_factory.mktemp("helm-image")
    shutil.copy(local.command[0], context / "helm")
    tag = "streamforge-test/helm:local"
    build(
        tag, context, f'FROM {parent_image}\nCOPY helm /usr/local/bin/helm\nENTRYPOINT ["helm"]\n'
    )
    return tag


def chart(root: Path) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("greeting: hello\n")
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  greeting: {{ .Values.greeting }}\n  kube: {{ .Capabilities.KubeVersion }}\n"
    )
    return root


def test_template_through_the_container(helm_image: str, tmp_path: Path) -> None:
    tool = Resolved("helm", (helm_image,), "container")
    values = tmp_path / "values.yaml"
    values.write_text("greeting: from-a-values-file\n")
    out = helm(
        tool,
        "test",
        [
            "template",
            "demo",
            str(chart(tmp_path / "demo")),
            "--values",
            str(values),
            "--kube-version",
            "1.36.1",
        ],
        "n/a",
        quiet=True,
    )
    assert "kind: ConfigMap" in out
    assert "greeting: from-a-values-file" in out
    assert "kube: v1.36.1" in out


def test_failure_names_the_step_and_the_output(helm_image: str, tmp_path: Path) -> None:
    tool = Resolved("helm", (helm_image,), "container")
    with pytest.raises(StepError) as caught:
        helm(
            tool,
            "component:demo",
            ["template", "demo", str(tmp_path / "no-such-chart")],
            "check the chart path",
            quiet=True,
        )
    assert "step 'component:demo' failed" in str(caught.value)
    assert "fix: check the chart path" in str(caught.value)


def test_a_helm_image_docker_cannot_get_says_to_install_helm(tmp_path: Path) -> None:
    # not in Docker, and its registry (a closed port on this machine) refuses at once
    tool = Resolved("helm", ("localhost:1/streamforge-test/no-such-helm:0",), "container")
    with pytest.raises(StepError) as caught:
        helm(
            tool,
            "bom:demo",
            ["template", "demo", str(chart(tmp_path / "demo"))],
            "check the chart file (delete it to fetch it again)",
            quiet=True,
        )
    message = str(caught.value)
    assert "step 'bom:demo' failed: docker pull localhost:1/streamforge-test/no-such-helm:0" in (
        message
    )
    fix = message.rpartition("\nfix: ")[2]
    assert "STREAMFORGE_HELM=/path/to/helm" in fix and "chart" not in fix
