"""The homelab render as ArgoCD syncs it from an empty cluster. Each test names the ArgoCD
behaviour (ArgoCD docs, user guide) it encodes."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from ruamel.yaml import YAML

from streamforge.model.load import load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from streamforge.validate import argocd_schema
from streamforge.validate.argocd_rules import check_application, check_health_customisation
from streamforge.validate.objects import ObjectChecker
from tests.conftest import REPO, missing

WAVE = "argocd.argoproj.io/sync-wave"
yaml = YAML(typ="safe")


@pytest.fixture(scope="module")
def homelab() -> tuple[Any, dict[str, Any]]:
    platform = load_platform(REPO, "homelab")
    files = render(platform, Facts()).files
    docs = {
        rel: yaml.load(text)
        for rel, text in files.items()
        if rel.startswith(("argocd/", "bootstrap/"))
    }
    manifests = {rel: list(yaml.load_all(t)) for rel, t in files.items() if "manifests/" in rel}
    return platform, {**docs, **manifests}


def applications(rendered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        rel: doc
        for rel, doc in rendered.items()
        if isinstance(doc, dict) and doc.get("kind") == "Application"
    }


def by_name(rendered: dict[str, Any], name: str) -> dict[str, Any]:
    (app,) = [a for a in applications(rendered).values() if a["metadata"]["name"] == name]
    return app


@pytest.fixture(scope="module")
def crd_checker() -> ObjectChecker:
    """ArgoCD's Application CRD at the env's pinned version, from its Go module."""
    if shutil.which("go") is None:
        missing("no `go`: the Application CRD comes from ArgoCD's Go module")
    version = load_platform(REPO, "homelab").env.gitops.argocd_version  # type: ignore[union-attr]
    return ObjectChecker(argocd_schema.schema_dir(version), (1, 36))


def test_every_application_validates_against_argocds_own_crd(
    homelab: tuple[Any, dict[str, Any]], crd_checker: ObjectChecker
) -> None:
    apps = applications(homelab[1])
    assert len(apps) > 3
    assert {rel: crd_checker.check(app) for rel, app in apps.items()} == {rel: [] for rel in apps}


def test_the_crd_check_rejects_a_field_argocd_does_not_know(
    homelab: tuple[Any, dict[str, Any]], crd_checker: ObjectChecker
) -> None:
    app = by_name(homelab[1], "metallb")
    app = {**app, "spec": {**app["spec"], "syncPolicy": {"retry": {"backof": {}}}}}
    issues = crd_checker.check(app)
    assert any(
        path == "spec.syncPolicy.retry.backof" and "did you mean 'backoff'" in message
        for path, message in issues
    ), issues


def test_every_application_retries_a_failed_sync_with_backoff(
    homelab: tuple[Any, dict[str, Any]],
) -> None:
    """ "Automated Sync Policy": a failed automated sync of a commit is not retried unless
    `syncPolicy.retry` says so (a webhook not yet serving refuses the first apply)."""
    for rel, app in applications(homelab[1]).items():
        assert check_application(app) == [], rel
        retry = app["spec"]["syncPolicy"]["retry"]
        assert retry["limit"] > 0 and retry["backoff"]["factor"] > 1, rel
    app = by_name(homelab[1], "metallb")
    broken = {**app, "spec": {**app["spec"], "syncPolicy": {"automated": {}}}}
    assert [p for p, _ in check_application(broken)] == ["spec.syncPolicy.retry"]


def test_the_root_application_syncs_the_children_by_wave_in_dependency_order(
    homelab: tuple[Any, dict[str, Any]],
) -> None:
    """ "Sync Phases and Waves" with an app of apps: the root applies its children wave by
    wave, waiting for each wave to be healthy, which ArgoCD only judges for an Application
    when argocd-cm has the `argoproj.io_Application` health customisation."""
    platform, rendered = homelab
    gitops = platform.env.gitops
    root = rendered["bootstrap/root-app.yaml"]
    source = root["spec"]["source"]
    assert source["path"] == f"{gitops.path}/argocd" and source["directory"]["recurse"]
    children = applications(rendered)
    waves = {
        app["metadata"]["name"]: int(app["metadata"]["annotations"][WAVE])
        for rel, app in children.items()
        if rel.startswith("argocd/")
    }
    for name in platform.enabled:
        for dependency in platform.components[name].depends_on:
            if dependency in platform.enabled:
                assert waves[dependency] < waves[name], (dependency, name)
    services = [w for n, w in waves.items() if n.startswith("service-")]
    assert services and min(services) > max(waves[n] for n in platform.enabled)
    # ArgoCD's own chart values carry the Application health check into argocd-cm
    values = render(platform, Facts()).values["argocd"]
    assert check_health_customisation(values) == []
    assert check_health_customisation({"configs": {"cm": {"url": "x"}}})


def test_a_charts_own_objects_sync_after_the_chart_is_healthy(
    homelab: tuple[Any, dict[str, Any]],
) -> None:
    """Within an Application, wave 1 waits for wave 0 (the chart: its webhook Deployments)
    to be healthy, so MetalLB's pool and cert-manager's ClusterIssuer are not refused."""
    platform, rendered = homelab
    for rel, docs in rendered.items():
        if not rel.startswith("manifests/"):
            continue
        name = rel.removeprefix("manifests/").removesuffix(".yaml").split("-", 1)[1]
        if platform.components[name].chart:
            assert {d["metadata"]["annotations"][WAVE] for d in docs} == {"1"}, rel


def test_strimzis_oci_chart_uses_the_source_form_of_argocd_3_1() -> None:
    """ "OCI" (ArgoCD 3.1+): an OCI Helm chart is repoURL oci://<registry>/<repo>/<chart>,
    `path: .`, no `chart:`; the older `oci://` repository with `chart:` is refused."""
    platform = load_platform(REPO, "homelab")
    files = render(platform, Facts()).files
    wave = platform.enabled.index("strimzi") + 1
    app = yaml.load(files[f"argocd/{wave:02d}-strimzi.yaml"])
    chart = app["spec"]["sources"][0]
    assert chart["repoURL"] == "oci://quay.io/strimzi-helm/strimzi-kafka-operator"
    assert chart["path"] == "." and "chart" not in chart
    assert chart["targetRevision"] == platform.components["strimzi"].chart.version  # type: ignore[union-attr]
    old = {**chart, "repoURL": "oci://quay.io/strimzi-helm", "chart": "strimzi-kafka-operator"}
    app["spec"]["sources"][0] = old
    assert [p for p, _ in check_application(app)] == ["spec.sources[0]"]


def test_podsecurity_labels_reach_the_namespace_argocd_creates(
    homelab: tuple[Any, dict[str, Any]],
) -> None:
    """ "Sync Options": with CreateNamespace=true, ArgoCD creates the namespace bare unless
    `managedNamespaceMetadata` gives its labels; MetalLB's speaker needs `privileged`."""
    platform, rendered = homelab
    labelled = [n for n in platform.enabled if platform.components[n].namespace_labels]
    assert "metallb" in labelled
    for name in labelled:
        wave = platform.enabled.index(name) + 1
        sync = rendered[f"argocd/{wave:02d}-{name}.yaml"]["spec"]["syncPolicy"]
        assert "CreateNamespace=true" in sync["syncOptions"]
        assert (
            sync["managedNamespaceMetadata"]["labels"] == platform.components[name].namespace_labels
        )


def test_large_crds_are_applied_server_side(homelab: tuple[Any, dict[str, Any]]) -> None:
    """Client-side apply keeps each object in an annotation of at most 256 KiB, which
    Strimzi's and the Prometheus Operator's CRDs exceed; every chart is applied server-side."""
    for rel, app in applications(homelab[1]).items():
        if rel.startswith("argocd/"):
            assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"], rel


def test_the_pinned_argocd_version_is_the_one_the_argocd_chart_installs() -> None:
    """The env's gitops.argocd_version (what the render and validation assume) and the argocd
    component's chart (what the homelab runs) name the same ArgoCD release."""
    import tarfile

    platform = load_platform(REPO, "homelab")
    chart = platform.components["argocd"].chart
    assert chart is not None and platform.env.gitops is not None
    packaged = REPO.parent / "shared" / "charts" / f"{chart.name}-{chart.version}.tgz"
    if not packaged.is_file():
        missing(f"the pinned chart is not at {packaged}")
    with tarfile.open(packaged) as archive:
        member = archive.extractfile(f"{chart.name}/Chart.yaml")
        assert member is not None
        app_version = yaml.load(member.read())["appVersion"]
    assert platform.env.gitops.argocd_version == app_version
