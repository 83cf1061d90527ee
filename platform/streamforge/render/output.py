"""The folder a render replaces: refused unless replacing it can only delete render's own files.

`write` swaps the whole folder, so before it does, the folder must be new, empty, or hold
exactly the files an earlier render listed in its marker. A folder that is the repository,
contains it, lies inside a folder git tracks files in, or holds anything else is refused:
render never deletes what it did not create.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from streamforge.errors import StreamforgeError
from streamforge.render.context import Rendered

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


def written_drift(output: Path, files: dict[str, str]) -> str | None:
    """None when `output` holds `files` as `write` left them, else the first that differs."""
    for rel, text in sorted(files.items()):
        path = output / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            return f"{path} is not as rendered"
    return None
