"""Render: a pure function from the checked model to files.

Same model and facts in, byte-identical files out, so renders can be golden-tested and
diffed between envs. Nothing here talks to Docker or a cluster.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from streamforge.errors import StreamforgeError
from streamforge.model.load import Platform
from streamforge.render import argocd, dns, kind, kubespray, mirrors, releases
from streamforge.render.context import Facts, Rendered, addresses
from streamforge.render.output import MARKER, check_output

__all__ = ["Facts", "Rendered", "render", "write"]


def render(platform: Platform, facts: Facts | None = None) -> Rendered:
    """Every artefact of the platform's env as {relative path: text}."""
    facts = facts or Facts()
    out = releases.render(platform, facts)
    from streamforge.render import services

    services.check_hosts(platform, out.objects)
    out.files.update(services.render_files(platform))
    if platform.env.provider.type == "kind":
        out.files["kind-config.yaml"] = kind.render(platform, facts)
        out.files.update(mirrors.render(platform))
    else:
        out.files.update(argocd.render(platform, out))
        out.files.update(kubespray.render(platform))
        out.files.update(_dns(platform, facts))
    return out


def _dns(platform: Platform, facts: Facts) -> dict[str, str]:
    """The records Technitium serves, as a zone file and as API calls (seed 5.5)."""
    env = platform.env
    if not env.dns.records:
        return {}
    net = addresses(platform, facts)
    records = dns.resolve(env, net.ingress_address, net.backup_ingress_address)
    return {
        f"dns/{env.domain}.zone": dns.zone_file(env, records),
        dns.SCRIPT: dns.technitium_script(env, records),
    }


def write(rendered: Rendered, output: Path, repository: Path | None = None) -> None:
    """Replace `output` with exactly the rendered files, atomically: a failed render never
    leaves a half-written directory behind.

    The folder is checked first (`render.output.check_output`; `repository` is the checkout to
    protect): render only ever replaces a folder that is new, empty or its own, and it lists
    what it wrote in the folder's marker file. Raises StreamforgeError for any other folder.
    """
    output = output.resolve()
    check_output(output, repository)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    except OSError as exc:  # a file in the way, no permission, a read-only file system
        raise StreamforgeError(
            f"--output {output}: cannot create it ({exc.strerror}: {exc.filename}); "
            "choose a folder you can write to"
        ) from None
    try:
        for rel, text in sorted(rendered.files.items()):
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        (staging / MARKER).write_text("".join(f"{rel}\n" for rel in sorted(rendered.files)))
        if output.exists():
            old = output.with_name(f".{output.name}-old-{os.getpid()}")
            output.rename(old)
            staging.rename(output)
            shutil.rmtree(old)
        else:
            staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
