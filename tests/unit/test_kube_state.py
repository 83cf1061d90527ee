"""Reading the state marker fails loudly when the cluster cannot be asked, instead of taking
an unreachable cluster for one StreamForge did not create."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamforge.errors import StreamforgeError
from streamforge.execute.kube import Kube, _state_key, _step_name
from streamforge.execute.tools import ToolError, resolve
from tests.conftest import missing


def test_unreachable_cluster_is_an_error_not_a_missing_marker(tmp_path: Path, monkeypatch) -> None:
    try:
        kubectl = resolve("kubectl", allow_download=False)
    except ToolError as exc:
        missing(str(exc))
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n"
        "    server: https://127.0.0.1:1\ncontexts:\n- name: kind-gone\n  context:\n"
        "    cluster: gone\n    user: u\nusers:\n- name: u\n  user: {token: x}\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with pytest.raises(StreamforgeError, match="cannot read kube-system/streamforge-state"):
        Kube(kubectl, "kind-gone").read_state()


@pytest.mark.parametrize("step", ["component:traefik", "image:docs-site", "registry-wiring"])
def test_state_keys_are_valid_configmap_keys_and_round_trip(step: str) -> None:
    key = _state_key(step)
    assert all(c.isalnum() or c in "-._" for c in key)
    assert _step_name(key) == step
