"""Components and services in the cluster: a namespace, a helm release (`helm upgrade
--install --wait` with the rendered values, from the chart cache) and applied objects; and
whether each is still as `up` left it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from streamforge import console
from streamforge.execute import charts
from streamforge.execute.helm import helm, recover_interrupted, release_drift
from streamforge.execute.kube import Kube
from streamforge.execute.tools import Resolved
from streamforge.plan.actions import InstallComponent, InstallService
from streamforge.render.context import dump


class Releases:
    """Installs with `helm_tool` and `kube` into the cluster of kube's context."""

    def __init__(self, helm_tool: Resolved, kube: Kube) -> None:
        self.helm, self.kube, self.context = helm_tool, kube, kube.context

    def upgrade(
        self,
        step: str,
        name: str,
        chart: Path,
        namespace: str,
        values: dict[str, Any],
        wait: int,
        fix: str = "",
    ) -> None:
        """`helm upgrade --install --wait` of `chart` with `values` (a release an interrupted
        helm left pending is recovered first). Raises StepError with helm's message and
        `fix` (default: where to look at the pods)."""
        recover_interrupted(self.helm, step, name, namespace, self.context)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix=f"{name}-") as file:
            file.write(dump(values))
            file.flush()
            helm(
                self.helm,
                step,
                [
                    *("upgrade", "--install", name, str(chart), "--namespace", namespace),
                    # a service's namespace is Strimzi's; an env that leaves Strimzi out has none
                    *("--create-namespace", "--values", file.name, "--kube-context", self.context),
                    *("--wait", "--timeout", f"{wait}s"),
                ],
                fix
                or f"inspect with `kubectl --context {self.context} -n {namespace} get pods` "
                "and the pods' logs",
            )

    def install_component(self, action: InstallComponent) -> None:
        step = f"component:{action.name}"
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": action.namespace, "labels": action.labels},
        }
        self.kube.apply(step, json.dumps(namespace))
        if action.chart:
            chart = charts.ensure(self.helm, action.chart, step)  # pulled only when not cached
            self.upgrade(
                step, action.name, chart, action.namespace, action.values, action.wait_seconds
            )
        if action.objects:
            self.kube.apply(
                step,
                json.dumps({"apiVersion": "v1", "kind": "List", "items": action.objects}),
                timeout=action.wait_seconds,
            )
        for workload in action.restarts:
            self.restart(step, workload, action.wait_seconds)

    def restart(self, step: str, workload: str, wait: int) -> None:
        """`kubectl rollout restart` of `ns/kind/name` and wait for it; absent ones are skipped."""
        ns, kind, name = workload.split("/")
        target = f"{kind}/{name}"
        if self.kube.query("get", "-n", ns, target, "-o", "name") is None:
            console.info(f"no {ns}/{target} in this cluster: nothing to restart")
            return
        hint = f"inspect with `kubectl --context {self.context} -n {ns} get pods`"
        self.kube(step, "rollout", "restart", "-n", ns, target, fix=hint, quiet=True)
        self.kube(
            step, "rollout", "status", "-n", ns, target, f"--timeout={wait}s", fix=hint, quiet=True
        )

    def component_drift(self, action: InstallComponent) -> str | None:
        """None when the helm release is deployed with its workloads ready and every object
        the component applies is in the cluster; else what drifted."""
        if action.chart:
            drift = release_drift(self.helm, self.kube, action.name, action.namespace)
            if drift:
                return drift
        gone = self.kube.missing(action.objects)
        return f"{', '.join(gone[:3])} missing" if gone else None

    def install_service(self, action: InstallService) -> None:
        self.upgrade(
            f"service:{action.name}",
            action.name,
            action.chart,
            action.namespace,
            action.values,
            action.wait_seconds,
            f"inspect with `kubectl --context {self.context} -n {action.namespace} describe "
            f"deploy/{action.name}` and its pods' logs; /readyz stays 503 until Kafka accepts "
            "the user",
        )

    def service_drift(self, action: InstallService) -> str | None:
        return release_drift(self.helm, self.kube, action.name, action.namespace)
