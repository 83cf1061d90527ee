"""Nox sessions for the StreamForge monorepo.

Each session is a thin shell around the `streamforge` toolkit CLI, so everything here can also
be run without nox (`streamforge --help`). Sessions reuse their virtualenvs and use uv when it
is installed.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]
# Sessions run on the Python that runs nox (3.11 or newer, see pyproject.toml), so that
# `pipx run nox -s up` works with whatever Python the machine has.

# Transitive Python dependencies, pinned (`nox -s lock` rewrites it).
CONSTRAINTS = "constraints.txt"
# Local packages installed next to the toolkit; each has its own pyproject.toml.
LOCAL_PACKAGES = ["platform/streamforge_utils", "platform/fake_gpu"]
# nox's own pin (what CI installs to run these sessions); lint installs it for the noxfile's types.
NOX_PIN = ".ci/requirements.txt"


def _toolkit(session: nox.Session, *extras: str) -> None:
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-c", CONSTRAINTS, "-e", spec)


def _with_tests(session: nox.Session, *extras: str) -> None:
    """The toolkit with its test extras (and `extras`), each local package with its own."""
    _toolkit(session, "test", *extras)
    for package in LOCAL_PACKAGES:
        session.install("-c", CONSTRAINTS, "-e", f"{package}[test]")


def _cli(session: nox.Session, *args: str) -> None:
    _toolkit(session)
    session.run("streamforge", *args, *session.posargs)


@nox.session
def up(session: nox.Session) -> None:
    """Build the base image and bring up (or converge) the local kind replica.

    `-- --dry-run` prints the plan; `-- --profile minimal|default|full` picks the components;
    `-- --offline` refuses, before changing anything, unless the caches hold all it needs.
    """
    _toolkit(session, "docs")  # up builds the docs site it serves at docs.dmz.home
    session.run("streamforge", "up", *session.posargs)


@nox.session
def bom(session: nox.Session) -> None:
    """Every chart and image the replica needs: `-- --env local --profile full [--json]`."""
    _cli(session, "bom")


@nox.session
def prefetch(session: nox.Session) -> None:
    """Fill the chart and image caches, so `up -- --offline` needs no network later."""
    _cli(session, "prefetch")


@nox.session
def down(session: nox.Session) -> None:
    """Remove the local replica: only the cluster and registry this project created."""
    _cli(session, "down")


@nox.session
def status(session: nox.Session) -> None:
    """Show what of the replica runs and where."""
    _cli(session, "status")


@nox.session
def doctor(session: nox.Session) -> None:
    """Check Docker, CPU, memory, free ports, inotify limits and tool versions, each with a fix."""
    _cli(session, "doctor")


@nox.session
def hosts(session: nox.Session) -> None:
    """Print the replica's host names for /etc/hosts; `-- --apply` / `-- --remove` (sudo)."""
    _cli(session, "hosts")


@nox.session
def ca(session: nox.Session) -> None:
    """Export the replica's CA certificate (`-- --output FILE`) for the host to trust."""
    _cli(session, "ca")


@nox.session
def render(session: nox.Session) -> None:
    """Render every artefact of an env: `-- --env local --output build/local`."""
    _cli(session, "render")


@nox.session
def validate(session: nox.Session) -> None:
    """Validate the rendered objects and values of both envs against the pinned schemas."""
    _cli(session, "validate")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit, docker, kafka tiers; e2e where a kind cluster can start)."""
    _with_tests(session)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy over the toolkit, tests and noxfile (the files: pyproject [tool.mypy]).

    mypy reads the types of what the tests and the noxfile import, so those are installed too.
    """
    _with_tests(session, "lint")
    session.install("-c", CONSTRAINTS, "-r", NOX_PIN)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def new_service(session: nox.Session) -> None:
    """Generate a service from the scaffold: `-- --name order-enricher [--no-input]`."""
    _cli(session, "new-service")


@nox.session
def deploy(session: nox.Session) -> None:
    """Build, push and install one service into the replica: `-- <service>`."""
    _cli(session, "deploy")


@nox.session
def base_image(session: nox.Session) -> None:
    """Build the unified base image (platform/Dockerfile) as streamforge/base:<hash> and :dev."""
    _cli(session, "base-image")


@nox.session
def bench(session: nox.Session) -> None:
    """Time the image builds and the scaffold on this Docker engine (`-- --replica --env ENV`:
    the replica's cold and warm up, edit-to-new-pod and down); prints name=value lines."""
    _cli(session, "bench")


# mkdocs-material prints a banner about its successor on every build; the site pins both.
QUIET_MKDOCS = {"NO_MKDOCS_2_WARNING": "1"}


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs site into build/site, strictly (a warning or broken link fails).

    The reference pages and the service catalog are generated from the repository's data.
    """
    _toolkit(session, "docs")
    session.run("mkdocs", "build", "--strict", *session.posargs, env=QUIET_MKDOCS)


@nox.session
def docs_serve(session: nox.Session) -> None:
    """Serve the docs site on http://127.0.0.1:8000, rebuilt on every change to docs or data."""
    _toolkit(session, "docs")
    session.run("mkdocs", "serve", *session.posargs, env=QUIET_MKDOCS)


@nox.session(venv_backend="virtualenv")
def lock(session: nox.Session) -> None:
    """Re-resolve every Python dependency from the pyproject pins and rewrite constraints.txt."""
    session.install("-e", ".[test,lint,docs]", *(f"-e{p}[test]" for p in LOCAL_PACKAGES))
    frozen = session.run("python", "-m", "pip", "freeze", "--exclude-editable", silent=True)
    header = [line for line in Path(CONSTRAINTS).read_text().splitlines() if line.startswith("#")]
    pins = [
        line
        for line in str(frozen).splitlines()
        if line and not line.startswith(("#", "pip==", "setuptools=="))
    ]
    Path(CONSTRAINTS).write_text("\n".join([*header, *sorted(pins, key=str.lower)]) + "\n")
