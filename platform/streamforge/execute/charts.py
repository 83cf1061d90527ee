"""The chart cache: every component chart as `<name>-<version>.tgz` in one folder.

`up` installs charts from this folder and fills it with `helm pull` (from the chart's https
repository or its OCI registry) only for a chart it does not have; a cached chart is never
fetched again. The folder is `$STREAMFORGE_CHART_CACHE`, else `~/.cache/streamforge/charts`.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from streamforge import console
from streamforge.errors import StepError
from streamforge.execute.helm import helm
from streamforge.execute.tools import Resolved, cache_folder
from streamforge.model.schema.component import Chart
from streamforge.render.context import dump

CACHE_ENV = "STREAMFORGE_CHART_CACHE"


def chart_cache() -> Path:
    """The chart cache folder (not created)."""
    return cache_folder("charts", CACHE_ENV)


def cached_path(chart: Chart) -> Path:
    """Where `chart` is (or would be) cached: `<cache>/<name>-<version>.tgz`, the file name
    `helm pull` and `helm package` give it."""
    return chart_cache() / f"{chart.name}-{chart.version}.tgz"


def pull_args(chart: Chart, destination: Path) -> list[str]:
    """`helm pull` arguments fetching `chart` into `destination`."""
    if chart.repo.startswith("oci://"):
        source = [f"{chart.repo.rstrip('/')}/{chart.name}"]
    else:
        source = [chart.name, "--repo", chart.repo]
    return ["pull", *source, "--version", chart.version, "--destination", str(destination)]


def ensure(tool: Resolved, chart: Chart, step: str) -> Path:
    """The cached chart, pulled first if (and only if) it is not in the cache yet.

    Raises StepError naming the chart and the offline fix when `helm pull` fails."""
    target = cached_path(chart)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    console.info(f"fetching chart {chart.name} {chart.version} from {chart.repo}")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".pull-") as tmp:
        offline = (
            f"is {chart.repo} reachable? Offline, put {target.name} into {target.parent} "
            f"(or set {CACHE_ENV} to a folder that has it)"
        )
        try:
            helm(tool, step, pull_args(chart, Path(tmp)), offline, quiet=True)
        except StepError as exc:  # where the repository is unreachable, the cache is the fix
            raise StepError(
                exc.step, exc.command, exc.output, offline, {"network unreachable": offline}
            ) from None
        pulled = sorted(Path(tmp).glob("*.tgz"))
        if len(pulled) != 1:
            raise StepError(
                step, f"helm pull {chart.name}", f"found {pulled}", "report this as a bug"
            )
        # rename within one folder: an interrupted pull never leaves a partial chart behind
        pulled[0].rename(target)
    return target


def template(
    tool: Resolved,
    step: str,
    chart_file: Path,
    release: str,
    namespace: str,
    values: dict[str, Any],
    kube_version: str,
) -> str:
    """`helm template` of a cached chart with `values`, as a cluster of `kube_version` would
    render it (test hooks skipped: `up` never runs them). Returns the manifests' YAML."""
    with tempfile.TemporaryDirectory(prefix="streamforge-values-") as tmp:
        values_file = Path(tmp) / "values.yaml"
        values_file.write_text(dump(values))
        args = [
            "template",
            release,
            str(chart_file),
            "--namespace",
            namespace,
            "--values",
            str(values_file),
            "--kube-version",
            kube_version,
            "--skip-tests",
        ]
        fix = f"check the chart file {chart_file} (delete it to fetch it again)"
        if tool.source == "container":
            return helm(tool, step, args, fix, quiet=True)
        # stdout alone: helm prints warnings on stderr, which are not YAML
        done = subprocess.run(
            [*tool.command, *args], capture_output=True, text=True, check=False, timeout=300
        )
        if done.returncode != 0:
            raise StepError(step, f"helm {' '.join(args)}", done.stderr, fix)
        return done.stdout
