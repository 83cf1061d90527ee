"""StreamForge's fake NVIDIA GPU device plugin for the local kind replica (see docs/gpu.md)."""

__version__ = "0.1.0"
