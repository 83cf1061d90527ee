"""Host names of the replica for the host's resolver: an opt-in, clearly marked and removable
block in /etc/hosts (or the exact lines to add by hand)."""

from __future__ import annotations

import argparse
from pathlib import Path

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.model.load import find_root, load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from streamforge.render.summary import hostnames

BEGIN = "# BEGIN streamforge: managed by `streamforge hosts --apply`; `--remove` takes it out"
END = "# END streamforge"


def block(address: str, names: list[str]) -> str:
    return "\n".join([BEGIN, *(f"{address} {name}" for name in names), END]) + "\n"


def without_block(text: str) -> str:
    """`text` with any StreamForge block removed (and nothing else changed)."""
    lines = text.splitlines(keepends=True)
    out, inside = [], False
    for line in lines:
        if line.startswith("# BEGIN streamforge"):
            inside = True
        elif inside and line.startswith(END):
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise StreamforgeError(
            f"the hosts file has a '# BEGIN streamforge' line without '{END}'; fix the file by hand"
        )
    return "".join(out)


def write(path: Path, text: str) -> None:
    """Rewrite in place, not by rename: /etc/hosts is often a bind mount (containers, WSL)."""
    try:
        path.write_text(text)
    except PermissionError as exc:
        raise StreamforgeError(
            f"cannot write {path} ({exc.strerror}); run with sudo, or add the printed lines by hand"
        ) from exc


def apply(path: Path, address: str, names: list[str]) -> str:
    current = path.read_text() if path.exists() else ""
    kept = without_block(current)
    if kept and not kept.endswith("\n"):
        kept += "\n"
    updated = kept + block(address, names)
    if updated != current:
        write(path, updated)
    return updated


def remove(path: Path) -> bool:
    current = path.read_text() if path.exists() else ""
    kept = without_block(current)
    if kept == current:
        return False
    write(path, kept)
    return True


def arguments(p: argparse.ArgumentParser) -> None:
    """The options of `streamforge hosts`."""
    p.add_argument("--apply", action="store_true", help="add (or update) the marked block")
    p.add_argument("--remove", action="store_true", help="remove the marked block")
    p.add_argument("--address", help="address to resolve to (default 127.0.0.1)")
    p.add_argument("--hosts-file", default="/etc/hosts", help="default /etc/hosts")


def cmd_hosts(args: argparse.Namespace) -> None:
    """Entry point of `streamforge hosts`: print the env's host names as a block for
    --hosts-file, or --apply / --remove that block there."""
    platform = load_platform(find_root(), args.env)
    names = hostnames(platform, render(platform, Facts()))
    # 127.0.0.1 reaches Traefik through kind's host port mappings on every OS; the MetalLB
    # address is routable from the host on Linux only
    address = args.address or "127.0.0.1"
    path = Path(args.hosts_file)
    if args.remove:
        removed = remove(path)
        console.info(f"{'removed the StreamForge block from' if removed else 'nothing in'} {path}")
    elif args.apply:
        apply(path, address, names)
        console.info(f"{path} now resolves {len(names)} names to {address}")
    else:
        console.info(f"add these lines to {path} (or run with --apply):")
        print(block(address, names), end="")
