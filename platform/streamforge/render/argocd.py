"""Production: each enabled component and each service as an ArgoCD Application (GitOps, seed
9.2), synced in order from an empty cluster by one root Application (app of apps).

What ArgoCD needs for that, each with its upstream source (ArgoCD docs, user guide):
- "Sync Phases and Waves": the root syncs its children wave by wave and waits for each wave
  to be healthy; an Application is only judged healthy when argocd-cm restores its health
  check (`resource.customizations.health.argoproj.io_Application`, removed from the defaults in
  ArgoCD 1.8): the argocd component's values set it (`configs.cm`), `validate` checks it.
- "Automated Sync Policy": ArgoCD does not retry a failed automated sync of the same commit;
  `syncPolicy.retry` does (a webhook that is not serving yet refuses the first apply).
- "Sync Options": `CreateNamespace=true` with `managedNamespaceMetadata` puts a component's
  namespace labels (PodSecurity) on the namespace ArgoCD creates; `ServerSideApply=true`,
  because client-side apply keeps a copy of each object in an annotation limited to 256 KiB,
  which large CRDs (Strimzi's Kafka, the Prometheus Operator's) exceed.
- "OCI" (3.1+): an OCI Helm chart is `repoURL: oci://<registry>/<repo>/<chart>` with `path: .`.
"""

from __future__ import annotations

from typing import Any

from streamforge.model.facts import kafka
from streamforge.model.load import Platform
from streamforge.model.schema.env import GitOps
from streamforge.render.context import Rendered, dump, dump_all

WAVE = "argocd.argoproj.io/sync-wave"
ROOT = "streamforge"
# retry a failed sync 10 times, 15 s after the first failure, doubling up to 5 min (~35 min)
RETRY = {"limit": 10, "backoff": {"duration": "15s", "factor": 2, "maxDuration": "5m"}}
ROOT_APP = "bootstrap/root-app.yaml"
# the argocd-cm key that makes ArgoCD judge an Application's health
APPLICATION_HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"


def render(platform: Platform, rendered: Rendered) -> dict[str, str]:
    """{path: text}: argocd/NN-<component>.yaml and argocd/services/<name>.yaml (the children,
    waves in dependency order, services last), bootstrap/root-app.yaml (the app of apps, applied
    once by hand), and the components' manifests again with an in-Application wave after their
    chart."""
    gitops = platform.env.gitops
    if gitops is None:
        return {}
    files: dict[str, str] = {}
    for wave, name in enumerate(platform.enabled, start=1):
        comp = platform.components[name]
        sources: list[dict[str, Any]] = []
        if comp.chart:
            sources.append(
                {
                    **chart_source(comp.chart.repo, comp.chart.name, comp.chart.version),
                    "helm": {"releaseName": name, "valuesObject": rendered.values[name]},
                }
            )
        objects = rendered.objects[name]
        if objects:
            manifests = f"{wave:02d}-{name}.yaml"
            sources.append(
                {
                    "repoURL": gitops.repo,
                    "targetRevision": gitops.revision,
                    "path": f"{gitops.path}/manifests",
                    "directory": {"include": manifests},
                }
            )
            if comp.chart:
                # after the chart's resources are healthy: its webhooks serve, its CRDs exist
                files[f"manifests/{manifests}"] = dump_all([_in_wave(o, 1) for o in objects])
        sync = _sync_policy(["CreateNamespace=true", "ServerSideApply=true"])
        if comp.namespace_labels:
            sync["managedNamespaceMetadata"] = {"labels": dict(comp.namespace_labels)}
        app = _application(gitops, name, wave, sources, comp.namespace, sync)
        files[f"argocd/{wave:02d}-{name}.yaml"] = dump(app)
    files.update(_services(platform, gitops, len(platform.enabled) + 1))
    files[ROOT_APP] = dump(root_application(gitops))
    return files


def chart_source(repo: str, chart: str, version: str) -> dict[str, str]:
    """An Application source for a Helm chart: `chart:` in an HTTP repository; for an OCI one,
    the chart's full `oci://` URL and `path: .` (ArgoCD 3.1+, docs "OCI")."""
    if repo.startswith("oci://"):
        return {"repoURL": f"{repo.rstrip('/')}/{chart}", "targetRevision": version, "path": "."}
    return {"repoURL": repo, "chart": chart, "targetRevision": version}


def _in_wave(obj: dict[str, Any], wave: int) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), WAVE: str(wave)}
    return {**obj, "metadata": meta}


def _sync_policy(options: list[str]) -> dict[str, Any]:
    policy: dict[str, Any] = {"automated": {"prune": True, "selfHeal": True}}
    if options:
        policy["syncOptions"] = options
    return {**policy, "retry": RETRY}


def _application(
    gitops: GitOps,
    name: str,
    wave: int,
    sources: list[dict[str, Any]],
    namespace: str,
    sync: dict[str, Any],
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": gitops.namespace,
            # dependency order becomes sync order (the root syncs its children by wave)
            "annotations": {WAVE: str(wave)},
            "labels": {"app.kubernetes.io/part-of": "streamforge", **(labels or {})},
        },
        "spec": {
            "project": gitops.project,
            "sources": sources,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": sync,
        },
    }


def root_application(gitops: GitOps) -> dict[str, Any]:
    """The app of apps: one Application that syncs every Application under the rendered
    `argocd/` folder of the GitOps repository (recursively, services and ArgoCD's own included),
    wave by wave. After ArgoCD's first install (`helm install` with values/argocd.yaml),
    applying this one file bootstraps the rest."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "streamforge-root",
            "namespace": gitops.namespace,
            "labels": {"app.kubernetes.io/part-of": "streamforge"},
            # keep the children when the root is deleted by mistake
            "finalizers": [],
        },
        "spec": {
            "project": gitops.project,
            "source": {
                "repoURL": gitops.repo,
                "targetRevision": gitops.revision,
                "path": f"{gitops.path}/argocd",
                "directory": {"recurse": True},
            },
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": gitops.namespace,
            },
            "syncPolicy": _sync_policy(["ServerSideApply=true"]),
        },
    }


def _services(platform: Platform, gitops: GitOps, wave: int) -> dict[str, str]:
    """Each service as an Application of the common chart, synced after every component."""
    from streamforge.render import services

    namespace = kafka(platform).namespace  # services run in the Kafka cluster's namespace
    files: dict[str, str] = {}
    for name, values in services.all_values(platform).items():
        source = {
            "repoURL": gitops.repo,
            "targetRevision": gitops.revision,
            "path": services.CHART.as_posix(),
            "helm": {"releaseName": name, "valuesObject": values},
        }
        app = _application(
            gitops,
            f"service-{name}",
            wave,
            [source],
            namespace,
            _sync_policy(["ServerSideApply=true"]),
            {"streamforge.io/service": name},
        )
        files[f"argocd/services/{name}.yaml"] = dump(app)
    return files
