"""Check the `runners.config` TOML of the gitlab-runner chart's values against the runner's
documented config.toml keys.

The gitlab-runner chart is published only on GitLab's own chart repository and cannot be
templated here, so this is the check it gets: the TOML must parse (Python's tomllib), and every
key of `[[runners]]` and `[runners.kubernetes]` (with its node_selector and volume tables) must be
one the runner documents. Source of the key lists: GitLab Runner's "Advanced configuration"
reference (docs.gitlab.com/runner/configuration/advanced-configuration/, the [[runners]] section)
and "Kubernetes executor" reference (docs.gitlab.com/runner/executors/kubernetes/, config.toml
settings and volume types), as of Runner 18.5. Only the keys this platform is likely to set are
listed; a documented key missing here is added with its source.
"""

from __future__ import annotations

import difflib
import tomllib
from typing import Any

Issue = tuple[str, str]
CHART = "gitlab-runner"  # the chart whose values carry runners.config

RUNNER_KEYS = frozenset(
    {
        "name", "url", "clone_url", "token", "tls-ca-file", "tls-cert-file", "tls-key-file",
        "limit", "executor", "shell", "builds_dir", "cache_dir", "environment",
        "request_concurrency", "output_limit", "pre_get_sources_script",
        "post_get_sources_script", "pre_build_script", "post_build_script",
        "debug_trace_disabled", "unhealthy_requests_limit", "unhealthy_interval",
        "kubernetes", "cache", "feature_flags",
    }
)  # fmt: skip
KUBERNETES_KEYS = frozenset(
    {
        "host", "bearer_token", "cert_file", "key_file", "ca_file", "context", "namespace",
        "namespace_overwrite_allowed", "namespace_per_job", "privileged",
        "allow_privilege_escalation", "image", "allowed_images", "allowed_services",
        "allowed_pull_policies", "pull_policy", "image_pull_secrets", "helper_image",
        "helper_image_flavor", "node_selector", "node_selector_overwrite_allowed",
        "node_tolerations", "node_tolerations_overwrite_allowed", "affinity",
        "service_account", "service_account_overwrite_allowed", "pod_labels",
        "pod_labels_overwrite_allowed", "pod_annotations", "pod_annotations_overwrite_allowed",
        "cpu_limit", "cpu_request", "memory_limit", "memory_request",
        "ephemeral_storage_limit", "ephemeral_storage_request", "helper_cpu_limit",
        "helper_cpu_request", "helper_memory_limit", "helper_memory_request",
        "service_cpu_limit", "service_cpu_request", "service_memory_limit",
        "service_memory_request", "poll_interval", "poll_timeout", "pod_security_context",
        "build_container_security_context", "helper_container_security_context",
        "service_container_security_context", "priority_class_name", "scheduler_name",
        "terminationGracePeriodSeconds", "cleanup_grace_period_seconds", "dns_policy",
        "dns_config", "host_aliases", "volumes", "services", "cap_add", "cap_drop",
        "runtime_class_name", "pod_spec", "retry_limit", "resource_availability_check_max_attempts",
    }
)  # fmt: skip
VOLUME_KEYS = {
    "host_path": frozenset({"name", "mount_path", "sub_path", "read_only", "host_path",
                            "mount_propagation"}),
    "pvc": frozenset({"name", "mount_path", "sub_path", "read_only", "mount_propagation"}),
    "config_map": frozenset({"name", "mount_path", "sub_path", "read_only", "items"}),
    "secret": frozenset({"name", "mount_path", "sub_path", "read_only", "items"}),
    "empty_dir": frozenset({"name", "mount_path", "sub_path", "medium", "size_limit"}),
    "csi": frozenset({"name", "mount_path", "sub_path", "read_only", "driver", "fs_type",
                      "volume_attributes"}),
}  # fmt: skip
SOURCE = "GitLab Runner config.toml documents"


def _unknown(keys: Any, allowed: frozenset[str], where: str) -> list[Issue]:
    issues = []
    for key in keys:
        if key not in allowed:
            guess = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            issues.append((f"{where}.{key}", f"unknown key ({hint}not in what {SOURCE})"))
    return issues


def check(values: dict[str, Any]) -> list[Issue]:
    """Problems with `runners.config` in the chart values, as (path, message); [] if fine."""
    text = (values.get("runners") or {}).get("config")
    if text is None:
        return []
    where = "runners.config"
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [(where, f"not valid TOML: {exc}")]
    issues: list[Issue] = []
    runners = config.get("runners")
    if not isinstance(runners, list) or not runners:
        return [(where, "needs one [[runners]] table (an array of tables)")]
    for index, runner in enumerate(runners):
        base = f"{where}[[runners]][{index}]"
        issues += _unknown(runner, RUNNER_KEYS, base)
        kube = runner.get("kubernetes")
        if not isinstance(kube, dict):
            issues.append((f"{base}.kubernetes", "missing: the kubernetes executor's table"))
            continue
        issues += _unknown(kube, KUBERNETES_KEYS, f"{base}.kubernetes")
        selector = kube.get("node_selector", {})
        if not isinstance(selector, dict) or not all(isinstance(v, str) for v in selector.values()):
            issues.append((f"{base}.kubernetes.node_selector", "must map label to value"))
        volumes = kube.get("volumes", {})
        issues += _unknown(volumes, frozenset(VOLUME_KEYS), f"{base}.kubernetes.volumes")
        for kind, entries in volumes.items():
            if kind not in VOLUME_KEYS:
                continue
            for number, volume in enumerate(entries if isinstance(entries, list) else []):
                here = f"{base}.kubernetes.volumes.{kind}[{number}]"
                issues += _unknown(volume, VOLUME_KEYS[kind], here)
                for needed in ("name", "mount_path"):
                    if needed not in volume and not (kind == "host_path" and needed == "name"):
                        issues.append((f"{here}.{needed}", "missing"))
    return issues
