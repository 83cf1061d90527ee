"""kubectl against the replica's context: apply with retries, the state ConfigMap."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from streamforge import console, run
from streamforge.errors import StepError, StreamforgeError
from streamforge.execute.tools import Resolved

# `The StorageClass "linstor" is invalid: reclaimPolicy: ... field is immutable`
IMMUTABLE = re.compile(r'The (\w+) "([^"]+)" is invalid: [^\n]*field is immutable')
STATE_NAMESPACE = "kube-system"
STATE_CONFIGMAP = "streamforge-state"
OWNER_LABEL = "app.kubernetes.io/managed-by=streamforge"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
# kubectl get's message for an absent object: Error from server (NotFound): kind "name" not found
NOT_FOUND = re.compile(r'\(NotFound\): ([\w.-]+) "([^"]+)" not found')


class Kube:
    def __init__(self, kubectl: Resolved, context: str) -> None:
        self.context = context
        self.base = [*kubectl.command, "--context", context]

    def __call__(
        self, step: str, *args: str, fix: str, stdin: str | None = None, quiet: bool = False
    ) -> str:
        return run.run(step, [*self.base, *args], fix, stdin=stdin, quiet=quiet)

    def query(self, *args: str) -> str | None:
        done = run.capture([*self.base, *args])
        return done.stdout if done.returncode == 0 else None

    def _apply_once(self, step: str, manifest: str, fix: str) -> None:
        self(
            step,
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=streamforge",
            "-f",
            "-",
            stdin=manifest,
            quiet=True,
            fix=fix,
        )

    def apply(self, step: str, manifest: str, *, timeout: float = 180) -> None:
        """Server-side apply, retried while webhooks and CRDs come up (MetalLB's webhook
        refuses pools until its controller is ready)."""
        deadline = time.monotonic() + timeout
        replaced: set[tuple[str, str]] = set()
        while True:
            try:
                self._apply_once(
                    step,
                    manifest,
                    "check the object named above; see docs/runbooks/troubleshooting.md",
                )
                return
            except StepError as exc:
                retriable = any(
                    s in exc.output
                    for s in (
                        "failed calling webhook",
                        "no matches for kind",
                        "connection refused",
                        "ensure CRDs are installed",
                        "the server could not find the requested",
                    )
                )
                immutable = set(IMMUTABLE.findall(exc.output))
                if immutable and not retriable and not immutable & replaced:
                    self._replace(step, manifest, sorted(immutable))
                    replaced |= immutable
                    continue
                if not retriable or time.monotonic() > deadline:
                    raise
                console.info("waiting for the API (webhook or CRD not ready yet), retrying")
                time.sleep(5)

    def _replace(self, step: str, manifest: str, objects: list[tuple[str, str]]) -> None:
        """Delete objects whose changed fields cannot be updated in place (a StorageClass's
        reclaimPolicy, a Job's template), so the next apply creates them as they are now."""
        data = json.loads(manifest)
        items = data.get("items", [data])
        for kind, name in objects:
            match = next(
                (
                    o
                    for o in items
                    if o.get("kind") == kind and o.get("metadata", {}).get("name") == name
                ),
                None,
            )
            if match is None:
                raise StepError(
                    step,
                    f"apply {kind} {name}",
                    f"{kind} {name} cannot be updated in place and is not in the applied manifest",
                    "delete it by hand and run again",
                )
            console.info(f"replacing {kind} {name}: a field changed that cannot change in place")
            namespace = match["metadata"].get("namespace")
            self(
                step,
                "delete",
                kind.lower(),
                name,
                *(["-n", namespace] if namespace else []),
                "--wait=true",
                "--ignore-not-found",
                quiet=True,
                fix=f"delete {kind} {name} by hand and run again",
            )

    def missing(self, objects: list[dict[str, Any]]) -> list[str]:
        """Which of `objects` (as applied) the cluster does not have: `kind/name` each."""
        if not objects:
            return []
        manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        done = run.capture([*self.base, "get", "-f", "-", "-o", "name"], stdin=manifest)
        if done.returncode == 0:
            return []
        # kubectl names each absent object: `Error from server (NotFound): <kind> "<name>" ...`
        gone = NOT_FOUND.findall(done.stderr)
        if not gone:
            raise StreamforgeError(
                f"cannot read objects from the cluster: {done.stderr.strip()[-300:]}; is it "
                "running? (`nox -s status`)"
            )
        return [f"{kind}/{name}" for kind, name in gone]

    def workloads_drift(self, manifest: str, namespace: str) -> str | None:
        """None when every Deployment, StatefulSet and DaemonSet in `manifest` (YAML, as
        `helm get manifest` prints it) exists and is ready; else the first that is not."""
        from ruamel.yaml import YAML

        for doc in YAML(typ="safe", pure=True).load_all(manifest):
            if not isinstance(doc, dict) or doc.get("kind") not in WORKLOADS:
                continue
            meta = doc.get("metadata") or {}
            where = meta.get("namespace") or namespace
            what = f"{doc['kind']} {where}/{meta.get('name')}"
            found = self.query(
                "get", doc["kind"].lower(), str(meta.get("name")), "-n", where, "-o", "json"
            )
            if found is None:
                return f"{what} is missing"
            problem = not_ready(json.loads(found))
            if problem:
                return f"{what}: {problem}"
        return None

    def read_configmap(self, name: str) -> dict[str, str] | None:
        """The data of ConfigMap kube-system/`name`, or None when there is none. Raises
        StreamforgeError when the cluster does not answer."""
        done = run.capture(
            [*self.base, "get", "configmap", "-n", STATE_NAMESPACE, name, "-o", "json"]
        )
        if done.returncode != 0:
            if "NotFound" in done.stderr:
                return None
            raise StreamforgeError(
                f"cannot read {STATE_NAMESPACE}/{name} from the "
                f"cluster: {done.stderr.strip()[-300:]}; is it running? "
                "(`nox -s status`)"
            )
        return dict(json.loads(done.stdout).get("data") or {})

    def write_configmap(self, name: str, data: dict[str, str]) -> None:
        """Apply ConfigMap kube-system/`name` with `data`, labelled as StreamForge's."""
        manifest = json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "namespace": STATE_NAMESPACE,
                    "labels": {"app.kubernetes.io/managed-by": "streamforge"},
                },
                "data": data,
            }
        )
        self._apply_once("record state", manifest, "is the cluster still running? `nox -s status`")

    def read_state(self) -> dict[str, str] | None:
        """Recorded step hashes, or None when the cluster has no StreamForge marker."""
        data = self.read_configmap(STATE_CONFIGMAP)
        return None if data is None else {_step_name(k): v for k, v in data.items()}

    def write_state(self, hashes: dict[str, str]) -> None:
        """Record the step hashes (and so the marker `down` looks for) in the cluster."""
        self.write_configmap(
            STATE_CONFIGMAP, {_state_key(step): value for step, value in sorted(hashes.items())}
        )


def not_ready(workload: dict[str, Any]) -> str | None:
    """None when a Deployment/StatefulSet has its desired replicas ready, or a DaemonSet a
    ready pod on every node it is scheduled to (the conditions `helm --wait` waits for);
    else `ready/desired ready`."""
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    if workload.get("kind") == "DaemonSet":
        desired, ready = status.get("desiredNumberScheduled", 0), status.get("numberReady", 0)
    else:
        desired, ready = spec.get("replicas", 1), status.get("readyReplicas", 0)
    return None if ready >= desired else f"{ready}/{desired} ready"


def _state_key(step: str) -> str:
    """ConfigMap keys allow only [-._a-zA-Z0-9]: `component:traefik` is kept as
    `component.traefik` (step names have one ':' and no '.')."""
    return step.replace(":", ".", 1)


def _step_name(key: str) -> str:
    return key.replace(".", ":", 1)
