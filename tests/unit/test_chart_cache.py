"""The chart cache: a cached chart is used as it is (never fetched again); a missing one is
pulled with the pinned helm, and a failed pull says how to work offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamforge.errors import StepError
from streamforge.execute import charts
from streamforge.execute.tools import Resolved
from streamforge.model.schema.component import Chart

METALLB = Chart(repo="https://metallb.github.io/metallb", name="metallb", version="0.14.9")


def test_a_cached_chart_is_never_fetched(chart_cache: Path) -> None:
    no_helm = Resolved("helm", ("/nonexistent/helm",), "override")  # would fail if called
    assert charts.ensure(no_helm, METALLB, "test") == chart_cache / "metallb-0.14.9.tgz"


def test_pull_arguments_for_https_and_oci_repositories(tmp_path: Path) -> None:
    strimzi = Chart(
        repo="oci://quay.io/strimzi-helm", name="strimzi-kafka-operator", version="1.0.0"
    )
    assert charts.pull_args(strimzi, tmp_path) == [
        "pull", "oci://quay.io/strimzi-helm/strimzi-kafka-operator", "--version", "1.0.0",
        "--destination", str(tmp_path),
    ]  # fmt: skip
    assert charts.pull_args(METALLB, tmp_path)[:4] == ["pull", "metallb", "--repo", METALLB.repo]


def test_a_failed_pull_leaves_nothing_and_names_the_offline_fix(
    helm_binary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path / "charts"))
    unreachable = Chart(repo="https://127.0.0.1:9/charts", name="metallb", version="0.14.9")
    with pytest.raises(StepError) as caught:
        charts.ensure(Resolved("helm", (helm_binary,), "PATH"), unreachable, "component:metallb")
    assert "put metallb-0.14.9.tgz into" in str(caught.value)
    # an unreachable repository is classified, with the chart cache as the fix that fits
    assert (
        str(caught.value)
        .splitlines()[-1]
        .startswith("fix: network unreachable: is https://127.0.0.1:9/charts reachable?")
    )
    assert list((tmp_path / "charts").iterdir()) == []
