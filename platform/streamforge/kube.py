"""kubectl against the replica's context: apply with retries, the state ConfigMap."""

from __future__ import annotations

import json
import time

from streamforge import console, run
from streamforge.errors import StepError
from streamforge.tools import Resolved

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
                if not retriable or time.monotonic() > deadline:
                    raise
                console.info("waiting for the API (webhook or CRD not ready yet), retrying")
                time.sleep(5)

    def read_state(self) -> dict[str, str] | None:
        """Recorded step hashes, or None when the cluster has no StreamForge marker."""
        out = self.query("get", "configmap", "-n", STATE_NAMESPACE, STATE_CONFIGMAP, "-o", "json")
        if out is None:
            return None
        return dict(json.loads(out).get("data") or {})

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
                "data": dict(sorted(hashes.items())),
            }
        )
        self._apply_once("record state", manifest, "is the cluster still running? `nox -s status`")
