"""Refuse a service name that would break the platform, before cookiecutter writes anything.

This file is the one definition of a valid service name: cookiecutter runs it as a hook, and
`streamforge new-service` imports `name_problem` from it to check a name before generating.
On a bad name the hook prints ONE line saying what is wrong and what would be right, and exits
1; cookiecutter then removes the half-made folder, so nothing is left behind.
"""

from __future__ import annotations

import keyword
import re
import sys

# Kubernetes Service names are DNS-1035 labels (start with a letter); the chart derives
# `<name>-<volume>` claim names and `<name>.<domain>` hosts from it, so keep it short.
NAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
MAX_LENGTH = 40
# Names the platform already uses for namespaces, host names (<name>.dmz.home) or objects in
# namespace `kafka`, where services run next to Strimzi's own objects.
RESERVED = frozenset(
    {
        "argocd", "cert-manager", "default", "docs", "fake-gpu", "gitlab", "gpu-operator",
        "grafana", "ingress-nginx", "k3", "kafka", "kafka-ui", "keda", "keycloak", "kibana",
        "kube-node-lease", "kube-public", "kube-system", "local-path-storage", "metallb",
        "minio", "monitoring", "nfs-provisioner", "prometheus", "registry", "reloader",
        "services", "storage", "strimzi", "traefik", "vault",
    }
)  # fmt: skip
RESERVED_PREFIXES = ("k3-", "strimzi-", "kube-")
# keyword.softkwlist of the newest Python, so a name refused on 3.12 is refused on 3.11 too
SOFT_KEYWORDS = frozenset({"_", "case", "match", "type"})


def name_problem(name: str) -> str | None:
    """None if `name` can be a service name, else one line: what is wrong, what would be right."""
    if not name:
        return "the service name is empty; give one like 'order-enricher'"
    if len(name) > MAX_LENGTH:
        return (
            f"service name '{name}' has {len(name)} characters; use at most {MAX_LENGTH} so the "
            "Kubernetes names derived from it fit"
        )
    if not NAME_PATTERN.match(name):
        suggestion = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        suggestion = re.sub(r"^[^a-z]+", "", suggestion) or "order-enricher"
        return (
            f"service name '{name}' is not a DNS label: use lower-case letters, digits and '-', "
            f"starting with a letter and not ending with '-', e.g. '{suggestion}'"
        )
    if name in RESERVED or name.startswith(RESERVED_PREFIXES):
        return f"service name '{name}' is reserved by the platform; pick another name"
    package = name.replace("-", "_")
    clash = python_clash(package)
    if clash:
        suggestion = next(
            s
            for s in (f"{name}-service", f"{name}-svc", "order-enricher")
            if len(s) <= MAX_LENGTH and not python_clash(s.replace("-", "_"))
        )
        return (
            f"service name '{name}' makes the Python package '{package}', which is {clash}; "
            f"pick another name, e.g. '{suggestion}'"
        )
    return None


def python_clash(package: str) -> str | None:
    """Why `package` cannot be a service's top-level package: a keyword (`import async.app`
    is a SyntaxError), a soft keyword (`match`, `case`, `type`, `_`: legal but misread), or a
    standard-library module it would shadow (`import email.app` finds the stdlib's)."""
    if keyword.iskeyword(package):
        return "a Python keyword"
    if keyword.issoftkeyword(package) or package in SOFT_KEYWORDS:
        return "a Python soft keyword"
    if package in sys.stdlib_module_names:
        return "a standard-library module"
    return None


def port_problem(port: str) -> str | None:
    if not port.isdigit() or not 1024 <= int(port) <= 65535:
        return f"port '{port}' is not a number from 1024 to 65535; use e.g. 8080"
    return None


if __name__ == "__main__":
    problem = name_problem("{{ cookiecutter.name }}") or port_problem("{{ cookiecutter.port }}")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(1)
