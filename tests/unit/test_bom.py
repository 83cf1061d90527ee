"""The bill of materials: `streamforge bom --json` against the upstream charts at the pinned
versions (templated by the pinned helm), checked by a second, independent reading of the same
manifests: every `image:` line and every registry-qualified `name:tag` anywhere in the text."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from streamforge.commands.bom import build
from streamforge.commands.cli import main
from streamforge.execute.tools import Resolved
from streamforge.model.images import parse
from streamforge.model.load import load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from streamforge.render.mirrors import UPSTREAMS
from tests.conftest import REPO

IMAGE_LINE = re.compile(r"""^\s*-?\s*image:\s*["']?([^"'\s{}]+)["']?\s*$""", re.M)
# registry host with a dot, a path, and a tag: what an operator's env var or flag names
QUALIFIED = re.compile(
    r"(?<![\w./-])((?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?/[a-z0-9._/-]+:[\w][\w.-]*(?:@sha256:[0-9a-f]{64})?)"
)


def text_images(text: str) -> set[str]:
    found = set(IMAGE_LINE.findall(text)) | set(QUALIFIED.findall(text))
    return {str(parse(ref)) for ref in found}


def bom_json(capsys: pytest.CaptureFixture[str], profile: str) -> dict:
    assert main(["bom", "--env", "local", "--profile", profile, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


# `full` enables every component the smaller profiles do (and values do not depend on it)
@pytest.mark.parametrize("profile", ["full"])
def test_bom_lists_every_image_of_every_enabled_chart_and_manifest(
    profile: str,
    chart_cache: Path,
    helm_binary: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STREAMFORGE_KIND_NODE_IMAGE", raising=False)  # CI's own node image
    bom = bom_json(capsys, profile)
    listed = {image["ref"] for image in bom["images"]}
    platform = load_platform(REPO, "local", profile)
    rendered = render(platform, Facts())
    charted = [n for n in platform.enabled if platform.components[n].chart]
    assert [c["component"] for c in bom["charts"]] == charted
    assert all(c["cached"] for c in bom["charts"])
    for name in charted:
        comp = platform.components[name]
        assert comp.chart is not None
        values = Path(f"{chart_cache}/{name}.values.json")
        values.write_text(json.dumps(rendered.values[name]))  # JSON is YAML
        templated = subprocess.run(
            [
                helm_binary,
                "template",
                name,
                str(chart_cache / f"{comp.chart.name}-{comp.chart.version}.tgz"),
                "--namespace",
                comp.namespace,
                "--values",
                str(values),
                "--kube-version",
                platform.env.kubernetes_version,
                "--skip-tests",  # `up` never runs chart tests
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        images = text_images(templated)
        assert images, f"chart {comp.chart.name} renders no image?"
        assert images <= listed, f"{name}: not in the BOM: {sorted(images - listed)}"
    manifests = "".join(t for rel, t in rendered.files.items() if rel.startswith("manifests/"))
    assert text_images(manifests) <= listed
    # the kind node, the registry and what the e2e tests run are listed too
    where = {image["ref"]: image["where"] for image in bom["images"]}
    assert where[str(parse("registry:2.8.3"))] == "docker"
    assert any(ref.startswith("docker.io/kindest/node:") for ref in where)
    assert where["docker.io/traefik/whoami:v1.10.3"] == "cache"
    assert where[str(parse("traefik:v3.4.1"))] == "cache"
    assert "quay.io/metallb/controller:v0.14.9" in where


def test_every_upstream_registry_of_the_bom_has_a_hosts_toml(
    chart_cache: Path, helm_binary: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bom = bom_json(capsys, "full")
    registries = {parse(i["ref"]).registry for i in bom["images"] if i["where"] == "cache"}
    assert registries <= set(UPSTREAMS), f"add to render/mirrors.py: {registries - set(UPSTREAMS)}"
    # the nodes pull these by tag from a cache filled with `docker push`: a digest could not
    # be served (envs/local.yaml drops them)
    pinned = [i["ref"] for i in bom["images"] if i["where"] == "cache" and "@" in i["ref"]]
    assert pinned == []


def test_offline_a_chart_missing_from_the_cache_is_reported_not_fetched(
    chart_cache: Path, helm_binary: str
) -> None:
    (chart_cache / "metallb-0.14.9.tgz").unlink()
    helm = Resolved("helm", (helm_binary,), "PATH")
    bom, unfetched = build(load_platform(REPO, "local", "minimal"), Facts(), helm, fetch=False)
    assert [c.name for c in unfetched] == ["metallb"]
    assert not (chart_cache / "metallb-0.14.9.tgz").exists()
    refs = {i.ref for i in bom.images}
    assert "quay.io/metallb/controller:v0.14.9" not in refs
    assert "quay.io/jetstack/cert-manager-controller:v1.18.4" in refs


def test_the_homelab_env_has_no_replica_bom(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bom", "--env", "homelab"]) == 1
    assert "not a kind replica" in capsys.readouterr().err
