"""Host names of the replica for the host's resolver: an opt-in, clearly marked and removable
block in /etc/hosts (or the exact lines to add by hand)."""

from __future__ import annotations

from pathlib import Path

from streamforge.errors import StreamforgeError

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
