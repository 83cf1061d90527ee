"""The folder a render replaces: refused unless replacing it can only delete render's own files.

`write` swaps the whole folder, so before it does, the folder must be new, empty, or hold
exactly the files an earlier render listed in its marker. A folder that is the repository,
contains it, lies inside a folder git tracks files in, or holds anything else is refused:
render never deletes what it did not create.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from streamforge.errors import StreamforgeError

# Written into every rendered folder: the relative paths of the files render wrote there.
MARKER = ".streamforge-rendered"
FIX = "choose a new or empty folder, or one an earlier render wrote (default build/rendered/<env>)"


def owned_files(output: Path) -> set[str] | None:
    """The files an earlier render wrote into `output` (from its marker), or None if it has none."""
    marker = output / MARKER
    if not marker.is_file():
        return None
    return {line for line in marker.read_text(encoding="utf-8").splitlines() if line}


def check_output(output: Path, repository: Path | None = None) -> None:
    """Refuse `output` (a folder render is about to replace) unless replacing it is safe.

    `repository` is the checkout the toolkit runs from; None skips the repository checks.
    Raises StreamforgeError naming the folder, what would be lost, and the fix.
    """
    output = output.resolve()
    where = f"--output {output}"
    if repository is not None:
        repository = repository.resolve()
        if output == repository or repository.is_relative_to(output):
            raise StreamforgeError(f"{where}: it is or contains the repository {repository}; {FIX}")
        if output.is_relative_to(repository):
            top = repository / output.relative_to(repository).parts[0]
            tracked = _tracked(repository, top)
            if tracked:
                raise StreamforgeError(
                    f"{where}: it lies inside {top.relative_to(repository)}/, where git tracks "
                    f"files (e.g. {tracked[0]}); {FIX}"
                )
    if ".git" in output.parts:
        raise StreamforgeError(f"{where}: it is inside a .git folder; {FIX}")
    if not output.exists():
        return
    if not output.is_dir():
        raise StreamforgeError(f"{where}: it is a file, not a folder; {FIX}")
    owned = owned_files(output) or set()
    # the folders render made: those above its files (an empty folder is the user's)
    folders = {parent.as_posix() for rel in owned for parent in Path(rel).parents}
    for path in sorted(output.rglob("*")):
        rel = path.relative_to(output).as_posix()
        if rel == MARKER or rel in owned:
            continue
        if path.is_dir() and not path.is_symlink():
            if rel in folders:
                continue
            rel += "/"
        raise StreamforgeError(
            f"{where}: it holds {rel}, which render did not write (no entry in {MARKER}); {FIX}"
        )


def _tracked(repository: Path, folder: Path) -> list[str]:
    """Files git tracks under `folder` (empty when git or the repository is not there)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(repository), "ls-files", "-z", "--", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return []
    return [name for name in out.stdout.split("\0") if name] if out.returncode == 0 else []
