"""The generated Device Plugin API v1beta1 stubs (from proto/deviceplugin/v1beta1/api.proto)."""

from __future__ import annotations

try:
    from fake_gpu_plugin._generated import api_pb2, api_pb2_grpc
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        f"fake_gpu_plugin's gRPC stubs are missing or unusable ({exc}); they are generated when "
        "the package is built: pip install -e platform/fake_gpu"
    ) from exc

__all__ = ["api_pb2", "api_pb2_grpc"]
