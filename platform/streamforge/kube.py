"""kubectl against the replica's context: apply with retries, the state ConfigMap."""

from __future__ import annotations

import json
import re
import time

from streamforge import console, run
from streamforge.errors import StepError, StreamforgeError
from streamforge.tools import Resolved

# `The StorageClass "linstor" is invalid: reclaimPolicy: ... field is immutable`
IMMUTABLE = re.compile(r'The (\w+) "([^"]+)" is invalid: [^\n]*field is immutable')
STATE_NAMESPACE = "kube-system"
STATE_CONFIGMAP = "streamforge-state"
OWNER_LABEL = "app.kubernetes.io/managed-by=streamforge"


class Kube:
    def __init__(self, kubectl: Resolved, context: str) -> None:
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

    def read_state(self) -> dict[str, str] | None:
        """Recorded step hashes, or None when the cluster has no StreamForge marker."""
        done = run.capture(
            [*self.base, "get", "configmap", "-n", STATE_NAMESPACE, STATE_CONFIGMAP, "-o", "json"]
        )
        if done.returncode != 0:
            if "NotFound" in done.stderr:
                return None
            raise StreamforgeError(
                f"cannot read {STATE_NAMESPACE}/{STATE_CONFIGMAP} from the "
                f"cluster: {done.stderr.strip()[-300:]}; is it running? "
                "(`nox -s status`)"
            )
        data = json.loads(done.stdout).get("data") or {}
        return {_step_name(key): value for key, value in data.items()}

    def write_state(self, hashes: dict[str, str]) -> None:
        manifest = json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": STATE_CONFIGMAP,
                    "namespace": STATE_NAMESPACE,
                    "labels": {"app.kubernetes.io/managed-by": "streamforge"},
                },
                "data": {_state_key(step): value for step, value in sorted(hashes.items())},
            }
        )
        self._apply_once("record state", manifest, "is the cluster still running? `nox -s status`")


def _state_key(step: str) -> str:
    """ConfigMap keys allow only [-._a-zA-Z0-9]: `component:traefik` is kept as
    `component.traefik` (step names have one ':' and no '.')."""
    return step.replace(":", ".", 1)


def _step_name(key: str) -> str:
    return key.replace(".", ":", 1)
