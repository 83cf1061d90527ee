"""Production: each enabled component as an ArgoCD Application (GitOps, seed 9.2)."""

from __future__ import annotations

from typing import Any

from streamforge.load import Platform
from streamforge.render.context import Rendered, dump


def render(platform: Platform, rendered: Rendered) -> dict[str, str]:
    gitops = platform.env.gitops
    if gitops is None:
        return {}
    files: dict[str, str] = {}
    for wave, name in enumerate(platform.enabled, start=1):
        comp = platform.components[name]
        sources: list[dict[str, Any]] = []
        if comp.chart:
            chart = comp.chart
            sources.append(
                {
                    "repoURL": chart.repo,
                    "chart": chart.name,
                    "targetRevision": chart.version,
                    "helm": {"releaseName": name, "valuesObject": rendered.values[name]},
                }
            )
        if rendered.objects[name]:
            sources.append(
                {
                    "repoURL": gitops.repo,
                    "targetRevision": gitops.revision,
                    "path": f"{gitops.path}/manifests",
                    "directory": {"include": f"{wave:02d}-{name}.yaml"},
                }
            )
        sync_policy: dict[str, Any] = {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
        }
        if comp.namespace_labels:
            # the namespace ArgoCD creates carries the labels `up` gives it (e.g. PSA levels)
            sync_policy["managedNamespaceMetadata"] = {"labels": dict(comp.namespace_labels)}
        app = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": name,
                "namespace": gitops.namespace,
                # dependency order becomes sync order
                "annotations": {"argocd.argoproj.io/sync-wave": str(wave)},
                "labels": {"app.kubernetes.io/part-of": "streamforge"},
            },
            "spec": {
                "project": gitops.project,
                "sources": sources,
                "destination": {
                    "server": "https://kubernetes.default.svc",
                    "namespace": comp.namespace,
                },
                "syncPolicy": sync_policy,
            },
        }
        files[f"argocd/{wave:02d}-{name}.yaml"] = dump(app)
    files.update(_services(platform, len(platform.enabled) + 1))
    files[ROOT_APP] = dump(root_application(platform))
    return files


ROOT_APP = "bootstrap/root-app.yaml"


def root_application(platform: Platform) -> dict[str, Any]:
    """The app of apps: one Application that syncs every Application under the rendered
    `argocd/` folder of the GitOps repository, ArgoCD's own included. After ArgoCD's first
    install (`helm install` with values/argocd.yaml), applying this one file bootstraps the rest."""
    gitops = platform.env.gitops
    assert gitops is not None
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
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["ServerSideApply=true"],
            },
        },
    }


def _services(platform: Platform, wave: int) -> dict[str, str]:
    """Each service as an Application of the common chart, synced after every component."""
    from streamforge import services

    gitops = platform.env.gitops
    assert gitops is not None
    files: dict[str, str] = {}
    for name, values in services.all_values(platform).items():
        app = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": f"service-{name}",
                "namespace": gitops.namespace,
                "annotations": {"argocd.argoproj.io/sync-wave": str(wave)},
                "labels": {
                    "app.kubernetes.io/part-of": "streamforge",
                    "streamforge.io/service": name,
                },
            },
            "spec": {
                "project": gitops.project,
                "sources": [
                    {
                        "repoURL": gitops.repo,
                        "targetRevision": gitops.revision,
                        "path": services.CHART.as_posix(),
                        "helm": {"releaseName": name, "valuesObject": values},
                    }
                ],
                "destination": {
                    "server": "https://kubernetes.default.svc",
                    "namespace": services.NAMESPACE,
                },
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": ["ServerSideApply=true"],
                },
            },
        }
        files[f"argocd/services/{name}.yaml"] = dump(app)
    return files
