"""ArgoCD's own Application CRD schema at the env's pinned ArgoCD version, for `validate`.

Taken at use time from ArgoCD's Go module (`github.com/argoproj/argo-cd/v3`, file
`manifests/crds/application-crd.yaml`), downloaded with `go mod download` from the Go module
proxy (go.sum's checksum database verifies it), never committed. The JSON schema is cached as
`~/.cache/streamforge/argocd/<version>/crds/argoproj.io/application_v1alpha1.json`, the layout
`validate_objects.ObjectChecker` reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from streamforge.errors import StreamforgeError

MODULE = "github.com/argoproj/argo-cd/v3"
CRD_FILE = "manifests/crds/application-crd.yaml"
SERVED = "v1alpha1"


def schema_dir(version: str) -> Path:
    """A schema dir (`crds/argoproj.io/application_v1alpha1.json`) for ArgoCD `version`.

    Raises StreamforgeError when it is not cached and Go cannot download the module."""
    from streamforge.execute.tools import cache_dir

    root = cache_dir() / "argocd" / version
    target = root / "crds" / "argoproj.io" / f"application_{SERVED}.json"
    if target.is_file():
        return root
    crd = _module_dir(version) / CRD_FILE
    if not crd.is_file():
        raise StreamforgeError(f"{MODULE}@{version} has no {CRD_FILE}; check gitops.argocd_version")
    from ruamel.yaml import YAML

    definition = YAML(typ="safe").load(crd.read_text(encoding="utf-8"))
    versions = {v["name"]: v for v in definition["spec"]["versions"]}
    if SERVED not in versions:
        raise StreamforgeError(f"ArgoCD {version}'s Application CRD does not serve {SERVED}")
    schema = versions[SERVED]["schema"]["openAPIV3Schema"]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(schema, indent=1), encoding="utf-8")
    partial.replace(target)
    return root


def _module_dir(version: str) -> Path:
    go = shutil.which("go")
    fix = (
        f"validating the ArgoCD Applications needs ArgoCD {version}'s Application CRD, read "
        f"from the Go module {MODULE}: install Go (https://go.dev/dl), which downloads it "
        "from the module proxy"
    )
    if go is None:
        raise StreamforgeError(f"no `go` on PATH; {fix}")
    done = subprocess.run(
        [go, "mod", "download", "-json", f"{MODULE}@{version}"],
        capture_output=True,
        text=True,
        check=False,
        # outside any module, whatever the caller's GOFLAGS say
        env={**os.environ, "GOFLAGS": "-mod=mod", "GOWORK": "off"},
        timeout=600,
    )
    try:
        info = json.loads(done.stdout)
    except json.JSONDecodeError:
        info = {}
    if done.returncode != 0 or "Dir" not in info:
        reason = info.get("Error") or done.stderr.strip().splitlines()[-1:] or "no output"
        raise StreamforgeError(f"go mod download {MODULE}@{version} failed ({reason}); {fix}")
    return Path(info["Dir"])
