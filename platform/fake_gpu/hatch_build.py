"""Hatch build hook: generate the Device Plugin API stubs with grpc_tools.protoc.

Runs for wheel and editable builds. The stubs land in src/fake_gpu_plugin/_generated/
(git-ignored) so that an editable install finds them, and are force-included into wheels.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PROTO = "deviceplugin/v1beta1/api.proto"
GENERATED = ("api_pb2.py", "api_pb2.pyi", "api_pb2_grpc.py")


def generate_stubs(root: Path) -> Path:
    """Compile proto/<PROTO> into <root>/src/fake_gpu_plugin/_generated and return that folder."""
    import grpc_tools
    from grpc_tools import protoc

    proto_root = root / "proto"
    out = root / "src" / "fake_gpu_plugin" / "_generated"
    include = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "grpc_tools.protoc",
            f"-I{proto_root}",
            f"-I{include}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            PROTO,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"grpc_tools.protoc failed on {proto_root / PROTO}")
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        built = Path(tmp) / Path(PROTO).parent
        for name in GENERATED:
            text = (built / name).read_text()
            # protoc writes absolute imports (from deviceplugin.v1beta1 import api_pb2); the stubs
            # live inside our package, so make the import relative.
            text = re.sub(
                r"^from deviceplugin\.v1beta1 import api_pb2 as",
                "from . import api_pb2 as",
                text,
                flags=re.M,
            )
            (out / name).write_text(text)
    (out / "__init__.py").write_text('"""Generated from proto/deviceplugin/v1beta1/api.proto."""\n')
    return out


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        out = generate_stubs(Path(self.root))
        if version != "editable":
            for path in out.iterdir():
                if path.is_file():
                    target = f"fake_gpu_plugin/_generated/{path.name}"
                    build_data["force_include"][str(path)] = target
