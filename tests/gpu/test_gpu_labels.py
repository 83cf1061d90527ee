"""GPU Feature Discovery labels, and applying them through the Kubernetes API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fake_gpu_plugin.config import load_config
from fake_gpu_plugin.kube import KubeApi, KubeError
from fake_gpu_plugin.labels import gfd_labels, sanitise_product

SHARED = (
    "sharing:\n  timeSlicing:\n    renameByDefault: {}\n    resources:\n"
    "    - name: nvidia.com/gpu\n      replicas: 4\n"
)


def test_time_slicing_labels() -> None:
    labels = gfd_labels(1, "NVIDIA-GeForce-RTX-3090", 24576, load_config(SHARED.format("false")))
    assert labels == {
        "nvidia.com/gpu.count": "1",
        "nvidia.com/gpu.replicas": "4",
        "nvidia.com/gpu.sharing-strategy": "time-slicing",
        "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-3090-SHARED",
        "nvidia.com/gpu.memory": "24576",
    }


def test_renamed_resource_has_no_shared_suffix() -> None:
    labels = gfd_labels(2, "Tesla T4", 15360, load_config(SHARED.format("true")))
    assert labels["nvidia.com/gpu.product"] == "Tesla-T4"
    assert labels["nvidia.com/gpu.replicas"] == "4"
    assert labels["nvidia.com/gpu.count"] == "2"


def test_unshared_and_unconfigured() -> None:
    plain = gfd_labels(2, "NVIDIA GeForce RTX 3090", 24576, load_config(""))
    assert plain["nvidia.com/gpu.replicas"] == "1"
    assert plain["nvidia.com/gpu.sharing-strategy"] == "none"
    assert plain["nvidia.com/gpu.product"] == "NVIDIA-GeForce-RTX-3090"
    assert gfd_labels(1, "x", 1, None)["nvidia.com/gpu.replicas"] == "0"


def test_product_sanitising() -> None:
    assert sanitise_product("  NVIDIA  A100-SXM4-40GB (rev 2) ") == "NVIDIA-A100-SXM4-40GB-rev-2"
    with pytest.raises(ValueError, match="not a valid Kubernetes label value"):
        gfd_labels(1, "A" * 70, 1, None)


class _Recorder(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    status: ClassVar[int] = 200

    def do_PATCH(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).requests.append(
            {
                "path": self.path,
                "headers": dict(self.headers),
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api_server() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Recorder", (_Recorder,), {"requests": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_labels_are_a_merge_patch_on_the_node(api_server: tuple[str, type[_Recorder]]) -> None:
    url, handler = api_server
    labels = gfd_labels(1, "NVIDIA-GeForce-RTX-3090", 24576, load_config(SHARED.format("false")))
    KubeApi(base_url=url, token="tok").patch_node_labels("kind-worker", labels)
    (request,) = handler.requests
    assert request["path"] == "/api/v1/nodes/kind-worker"
    assert request["headers"]["Content-Type"] == "application/merge-patch+json"
    assert request["headers"]["Authorization"] == "Bearer tok"
    assert request["body"] == {"metadata": {"labels": labels}}


def test_api_errors_are_reported(api_server: tuple[str, type[_Recorder]]) -> None:
    url, handler = api_server
    handler.status = 403
    with pytest.raises(KubeError, match="answered 403"):
        KubeApi(base_url=url, token="tok").patch_node_labels("n", {"a": "b"})


def test_in_cluster_needs_a_pod(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeError, match="--no-label"):
        KubeApi.in_cluster(tmp_path)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    with pytest.raises(KubeError, match="token"):
        KubeApi.in_cluster(tmp_path)


def test_in_cluster_reads_the_service_account(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("secret-token\n")
    (tmp_path / "ca.crt").write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text())
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    api = KubeApi.in_cluster(tmp_path)
    assert api.base_url == "https://10.96.0.1:6443"
    assert api.token == "secret-token"
    assert api.ssl_context is not None
