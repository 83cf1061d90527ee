"""Node labels as GPU Feature Discovery (NVIDIA k8s-device-plugin v0.17) sets them.

Only the labels that describe the GPUs and their sharing are produced; the operator's own
`nvidia.com/gpu.present` / `nvidia.com/gpu.deploy.*` labels belong to the node definition.
"""

from __future__ import annotations

import re

from fake_gpu_plugin.config import FULL_GPU_RESOURCE, PluginConfig

LABEL_PREFIX = "nvidia.com/gpu."
_UNSAFE = re.compile(r"[^A-Za-z0-9\-_. ]")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def sanitise_product(product: str) -> str:
    """GFD's product name: drop characters outside [A-Za-z0-9-_. ], join words with '-'."""
    return "-".join(_UNSAFE.sub("", product).split())


def gfd_labels(
    count: int, product: str, memory_mib: int, config: PluginConfig | None
) -> dict[str, str]:
    """The `nvidia.com/gpu.*` labels GFD puts on a node with `count` GPUs of one model.

    - `gpu.count`: physical GPUs (not multiplied by replicas);
    - `gpu.replicas`: replicas per GPU (1 when not shared; 0 when the labeler has no config);
    - `gpu.sharing-strategy`: `time-slicing` or `none`;
    - `gpu.product`: the sanitised model, with `-SHARED` when shared and not renamed;
    - `gpu.memory`: MiB per GPU.
    """
    entry = config.replicated(FULL_GPU_RESOURCE) if config is not None else None
    shared = entry is not None and entry.replicas > 1
    replicas = entry.replicas if entry is not None else (1 if config is not None else 0)
    name = sanitise_product(product)
    if shared and entry is not None and not entry.rename:
        name = f"{name}-SHARED"
    labels = {
        LABEL_PREFIX + "count": str(count),
        LABEL_PREFIX + "replicas": str(replicas),
        LABEL_PREFIX + "sharing-strategy": "time-slicing" if shared else "none",
        LABEL_PREFIX + "product": name,
        LABEL_PREFIX + "memory": str(memory_mib),
    }
    for key, value in labels.items():
        if len(value) > 63 or not _LABEL_VALUE.match(value):
            raise ValueError(f"label {key}={value!r} is not a valid Kubernetes label value")
    return labels
