"""`fake-gpu-plugin`: run the fake nvidia.com/gpu device plugin on one node.

Exit codes: 0 after SIGTERM/SIGINT (clean stop), 2 on a wrong configuration or argument (one
line on stderr naming the file, the field and the fix; nothing is served).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from fake_gpu_plugin import __version__
from fake_gpu_plugin.config import ConfigError, PluginConfig, config_from_env, load_config
from fake_gpu_plugin.devices import DeviceSet, fake_gpus
from fake_gpu_plugin.labels import gfd_labels

log = logging.getLogger("fake_gpu_plugin")

DEFAULT_PLUGIN_DIR = "/var/lib/kubelet/device-plugins"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fake-gpu-plugin",
        description="Fake NVIDIA GPU device plugin with time-slicing, for the kind replica.",
    )
    parser.add_argument(
        "--config",
        default=config_from_env(),
        help="NVIDIA device-plugin config: a file, a ConfigMap data file, or a folder of "
        "ConfigMap keys (default: $CONFIG_FILE; none = no sharing)",
    )
    parser.add_argument(
        "--config-key", help="which named config of the ConfigMap to use (e.g. any)"
    )
    parser.add_argument("--gpu-count", type=int, required=True, help="fake physical GPUs")
    parser.add_argument(
        "--gpu-product", required=True, help="GPU model, e.g. NVIDIA-GeForce-RTX-3090"
    )
    parser.add_argument("--gpu-memory-mib", type=int, required=True, help="memory per GPU")
    parser.add_argument(
        "--node-name",
        default=os.environ.get("NODE_NAME"),
        help="this node (default: $NODE_NAME): seeds the fake GPU UUIDs; the node labelled",
    )
    parser.add_argument(
        "--device-plugin-dir",
        type=Path,
        default=Path(DEFAULT_PLUGIN_DIR),
        help=f"the kubelet's device-plugins folder (default {DEFAULT_PLUGIN_DIR})",
    )
    parser.add_argument(
        "--no-label", action="store_true", help="do not label the node through the API"
    )
    parser.add_argument(
        "--health-file",
        type=Path,
        help="file listing unhealthy GPUs (index or UUID, one per line); watched",
    )
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds between checks")
    parser.add_argument(
        "--retry-interval", type=float, default=5.0, help="seconds between registration attempts"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate, print resource, devices and labels as JSON, and exit",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _fail(message: str) -> int:
    print(f"fake-gpu-plugin: error: {message}", file=sys.stderr)
    return 2


def _check_args(args: argparse.Namespace) -> str | None:
    if args.gpu_count < 1:
        return f"--gpu-count: must be at least 1, not {args.gpu_count}; set the node's GPU count"
    if args.gpu_memory_mib < 1:
        return f"--gpu-memory-mib: must be positive, not {args.gpu_memory_mib}; give MiB per GPU"
    if not args.node_name:
        return "--node-name: missing; pass --node-name or set NODE_NAME (the downward API)"
    if args.poll_interval <= 0 or args.retry_interval <= 0:
        return "--poll-interval/--retry-interval: must be positive"
    return None


def _label_node(node_name: str, labels: dict[str, str], stop: threading.Event) -> None:
    from fake_gpu_plugin.kube import KubeApi, KubeError

    delay = 2.0
    for attempt in range(1, 6):
        try:
            KubeApi.in_cluster().patch_node_labels(node_name, labels)
            log.info("labelled node %s: %s", node_name, labels)
            return
        except KubeError as exc:
            log.warning("labelling node %s failed (attempt %d/5): %s", node_name, attempt, exc)
        if stop.wait(delay):
            return
        delay *= 2
    log.error("node %s was not labelled; GPU labels are missing", node_name)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    problem = _check_args(args)
    if problem:
        return _fail(problem)
    try:
        config: PluginConfig = load_config(args.config, key=args.config_key)
        labels = gfd_labels(args.gpu_count, args.gpu_product, args.gpu_memory_mib, config)
    except ConfigError as exc:
        return _fail(str(exc))
    except ValueError as exc:
        return _fail(f"--gpu-product: {exc}; use letters, digits, '-', '_' and '.'")
    for warning in config.warnings:
        log.warning("%s", warning)

    gpus = fake_gpus(args.node_name, args.gpu_count, args.gpu_product, args.gpu_memory_mib)
    devices = DeviceSet(gpus, config)

    from fake_gpu_plugin.server import FakeGpuPlugin  # imports grpc and the stubs

    plugin = FakeGpuPlugin(
        devices,
        args.device_plugin_dir,
        poll_interval=args.poll_interval,
        retry_interval=args.retry_interval,
        health_file=args.health_file,
    )
    if args.dry_run:
        summary = {
            "resource": devices.resource_name,
            "socket": str(plugin.socket_path),
            "sharing": config.sharing_strategy,
            "replicas": devices.replicas,
            "failRequestsGreaterThanOne": devices.fail_requests_greater_than_one,
            "gpus": [gpu.uuid for gpu in gpus],
            "devices": devices.ids,
            "labels": labels,
        }
        print(json.dumps(summary, indent=2))
        return 0

    log.info(
        "fake-gpu-plugin %s: %d x %s (%d MiB), %s, %d replicas -> %d %s devices",
        __version__,
        args.gpu_count,
        args.gpu_product,
        args.gpu_memory_mib,
        config.sharing_strategy,
        devices.replicas,
        len(devices.ids),
        devices.resource_name,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if not args.no_label:
        threading.Thread(
            target=_label_node, args=(args.node_name, labels, stop), daemon=True
        ).start()
    plugin.run(stop)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
