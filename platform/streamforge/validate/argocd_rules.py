"""What ArgoCD needs of the rendered homelab beyond what the Application CRD schema says:
the rules `streamforge validate` applies to each Application and to the argocd chart's values.
"""

from __future__ import annotations

from typing import Any

ARGO_API = "argoproj.io/v1alpha1"


def check_application(app: Any) -> list[tuple[str, str]]:
    """What the Application CRD schema cannot say but ArgoCD needs to sync the homelab from
    an empty cluster (ArgoCD docs: "Automated Sync Policy", "Sync Options", "OCI"): the
    sources, a retry policy, namespace labels on a namespace ArgoCD creates only through
    managedNamespaceMetadata, OCI charts in the 3.1 form."""
    issues: list[tuple[str, str]] = []
    if app.get("apiVersion") != ARGO_API or app.get("kind") != "Application":
        issues.append(("apiVersion", f"expected {ARGO_API} Application"))
    spec = app.get("spec") or {}
    for key in ("project", "destination"):
        if not spec.get(key):
            issues.append((f"spec.{key}", "missing"))
    if not spec.get("sources") and not spec.get("source"):
        issues.append(("spec.sources", "missing"))
    sync = spec.get("syncPolicy") or {}
    if not (sync.get("retry") or {}).get("backoff"):
        issues.append(
            (
                "spec.syncPolicy.retry",
                "missing; ArgoCD does not retry a failed sync of the same commit: set a limit "
                "and a backoff",
            )
        )
    options = sync.get("syncOptions") or []
    if sync.get("managedNamespaceMetadata") and "CreateNamespace=true" not in options:
        issues.append(
            (
                "spec.syncPolicy.managedNamespaceMetadata",
                "ignored without the sync option CreateNamespace=true",
            )
        )
    for index, source in enumerate(spec.get("sources") or [spec.get("source") or {}]):
        for key in ("repoURL", "targetRevision"):
            if not source.get(key):
                issues.append((f"spec.sources[{index}].{key}", "missing"))
        repo = str(source.get("repoURL", ""))
        if repo.startswith("oci://") and (source.get("chart") or source.get("path") != "."):
            issues.append(
                (
                    f"spec.sources[{index}]",
                    "an OCI Helm chart is repoURL oci://<registry>/<repo>/<chart> with path '.' "
                    "and no chart (ArgoCD 3.1+)",
                )
            )
    return issues


def check_health_customisation(values: dict[str, Any]) -> list[tuple[str, str]]:
    """ArgoCD judges an Application's health (so an app of apps waits for each sync wave) only
    with the argocd-cm key `resource.customizations.health.argoproj.io_Application` (ArgoCD
    docs, "Sync Phases and Waves"; removed from its defaults in 1.8)."""
    from streamforge.render.argocd import APPLICATION_HEALTH_KEY

    cm = (values.get("configs") or {}).get("cm") or {}
    if "obj.status.health" in str(cm.get(APPLICATION_HEALTH_KEY, "")):
        return []
    return [
        (
            f'configs.cm["{APPLICATION_HEALTH_KEY}"]',
            "missing: ArgoCD would not wait for an Application's health between sync waves; "
            "set it to a Lua check returning obj.status.health",
        )
    ]
