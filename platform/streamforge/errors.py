"""Errors a user can act on: each names where, what is wrong, and the fix.

A failed command's output is classified (`classify`): network unreachable, image not found,
chart not found, missing CRD, timeout waiting for readiness, host limits, cgroup v1. The fix
line the user gets is the one of the class when the output matches one, and the step's own
hint otherwise. The patterns are the messages the tools print: Docker/containerd
(`manifest unknown`, `pull access denied`), helm (`failed to fetch`, `no chart version found`,
`context deadline exceeded`), kubectl/client-go (`no matches for kind`, `ensure CRDs are
installed first`), Go's net package (`connection refused`, `no such host`, `i/o timeout`) and
kubelet 1.35+ (`failCgroupV1`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class StreamforgeError(Exception):
    """Base for every error the CLI reports as one line and a non-zero exit."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    problem: str
    fix: str

    def __str__(self) -> str:
        # line 0: the file as a whole (absent, unreadable), so no line to point at
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.problem}; {self.fix}"


class ModelError(StreamforgeError):
    """One or more problems in the model files, each `file:line: problem; fix`."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line, p.problem))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Failure:
    """A class of failure, recognised in a command's output, and the fix that fits it."""

    name: str
    fix: str


# Checked in this order, the most specific cause first: a chart repository that refuses the
# connection is a network problem, not a missing chart; a helm --wait timeout whose output names
# an image pull error is an image problem.
_CLASSES: list[tuple[str, re.Pattern[str], str]] = [
    (
        "cgroup v1",
        re.compile(r"cgroup v1|failCgroupV1|cgroups? v1 support", re.I),
        "the host runs cgroup v1, which kubelet 1.35+ refuses unless told not to: boot the host "
        "(or WSL2 / the Docker VM) with cgroup v2 (kernel parameter "
        "systemd.unified_cgroup_hierarchy=1); `nox -s doctor` shows the version Docker reports",
    ),
    (
        "host limits",
        re.compile(
            r"too many open files|fsnotify watcher|no space left on device|cannot allocate "
            r"memory|OOMKilled|address already in use|port is already allocated",
            re.I,
        ),
        "the host ran out of something (inotify watches, memory, disk or a port): run "
        "`nox -s doctor` and apply the fix of each failed check (e.g. "
        "`sudo sysctl fs.inotify.max_user_watches=524288`), or use `--profile minimal`",
    ),
    (
        "missing CRD",
        re.compile(
            r"no matches for kind|ensure CRDs are installed|resource mapping not found|"
            r"the server could not find the requested resource",
            re.I,
        ),
        "an object's API (a CRD) is not installed in the cluster: the component that defines "
        "it is missing or not ready; run `nox -s up` (with the profile that includes it; "
        "`nox -s status` lists what is installed)",
    ),
    (
        "network unreachable",
        re.compile(
            r"connection refused|no such host|network is unreachable|i/o timeout|could not "
            r"resolve host|temporary failure in name resolution|TLS handshake timeout|"
            r"no route to host|dial tcp|connection reset by peer|server misbehaving|was refused",
            re.I,
        ),
        "a server could not be reached: check the network and proxy (HTTPS_PROXY); "
        "offline, run `nox -s prefetch` where the internet is reachable and then "
        "`nox -s up -- --offline`, or point provider.mirrors at a reachable mirror",
    ),
    (
        "chart not found",
        re.compile(
            r"no chart version found|no chart name found|"
            r'chart "[^"]+" (?:version "[^"]+" )?not found|failed to fetch \S+ : 404|'
            r"is not a valid chart repository|chart not found|"
            r"failed to download \S+",
            re.I,
        ),
        "the chart (name, version or repository in the component's component.yaml) is not "
        "where it is said to be: check them against the repository's index; offline, put the "
        "chart .tgz into the chart cache (`nox -s prefetch` where the repository is reachable)",
    ),
    (
        "image not found",
        re.compile(
            r"manifest unknown|manifest for \S+ not found|pull access denied|repository does not "
            r"exist|ErrImagePull|ImagePullBackOff|No such image|not found: manifest|"
            r"failed to resolve reference|LLB definition: \S+: not found",
            re.I,
        ),
        "an image cannot be found under its name and tag: check the reference (platform/"
        "pins.yaml, the chart values) and that the image cache holds it (`nox -s bom` lists "
        "every image; `nox -s prefetch` fills the cache where a registry is reachable)",
    ),
    (
        "timeout waiting for readiness",
        re.compile(
            r"context deadline exceeded|timed out waiting for the condition|resources not "
            r"ready|timed out waiting|deadline exceeded",
            re.I,
        ),
        "something did not become ready in time: `kubectl --context kind-<cluster> get pods -A` "
        "shows which pod, `kubectl describe pod` and its events why; run `nox -s up` again "
        "once it is ready (the step resumes)",
    ),
]


# what the fix names when the output says it: the missing API, the image
_MISSING_KIND = re.compile(r'no matches for kind "([^"]+)" in version "([^"]+)"')
_IMAGE = re.compile(
    r"(?:manifest for|pull access denied for|failed to resolve reference|No such image:?|"
    r"LLB definition:)"
    r' "?([\w./:@-]+?)"?(?:[:,]? |$)'
)


def classify(output: str) -> Failure | None:
    """The failure class of a command's `output`, or None if no class matches."""
    for name, pattern, fix in _CLASSES:
        if pattern.search(output):
            return Failure(name, _detail(name, output) + fix)
    return None


def _detail(name: str, output: str) -> str:
    if name == "network unreachable" and "The connection to the server" in output:
        return (
            "the cluster's API server does not answer (is the kind cluster running? "
            "`nox -s status`); "
        )
    if name == "missing CRD" and (found := _MISSING_KIND.search(output)):
        return f"kind {found.group(1)} ({found.group(2)}) is not served by the cluster; "
    if name == "image not found" and (found := _IMAGE.search(output)):
        return f"{found.group(1)}: "
    return ""


def failure_classes() -> list[str]:
    """The names of every failure class, in the order they are checked."""
    return [name for name, _, _ in _CLASSES]


class StepError(StreamforgeError):
    """A plan step failed: names the step, the command, its output tail, the failure class and
    a fix (the class's when the output has one, else `fix`, the step's own hint)."""

    def __init__(
        self,
        step: str,
        command: str,
        output: str,
        fix: str,
        specific: dict[str, str] | None = None,
    ) -> None:
        """`specific`: {class name: fix} where the step knows better than the class (a chart
        pull names the file to put into the chart cache)."""
        self.failure = classify(output)
        self.hint = fix
        if self.failure is not None:
            better = (specific or {}).get(self.failure.name, self.failure.fix)
            fix = f"{self.failure.name}: {better}"
        tail = "\n".join(output.strip().splitlines()[-15:])
        super().__init__(
            f"step '{step}' failed: {command}\n{tail}\nfix: {fix}"
            if tail
            else f"step '{step}' failed: {command}\nfix: {fix}"
        )
        self.step, self.command, self.output, self.fix = step, command, output, fix


DEBUG_ENV = "STREAMFORGE_DEBUG"


def unexpected(exc: BaseException) -> str:
    """The one-line report of an exception no step turned into a StreamforgeError: a failed
    docker call (python-on-whales' DockerException: its command and stderr), a command that
    timed out, anything else as a bug. Classified like a step's output."""
    import subprocess

    if isinstance(exc, subprocess.TimeoutExpired):
        command = " ".join(str(c) for c in exc.cmd) if isinstance(exc.cmd, list) else exc.cmd
        output = f"{command}: timed out waiting after {exc.timeout:.0f}s"
        fallback = "retry; `nox -s doctor` checks the machine"
    elif (stderr := getattr(exc, "stderr", None)) is not None:
        command = " ".join(str(c) for c in getattr(exc, "docker_command", []) or [])
        lines = [line for line in str(stderr).strip().splitlines() if line.strip()]
        output = f"{command or type(exc).__name__}: {lines[-1] if lines else 'failed'}"
        fallback = "`nox -s doctor` checks Docker and the machine"
    else:
        output = f"{type(exc).__name__}: {exc}"
        fallback = (
            f"this is a bug in StreamForge; run again with {DEBUG_ENV}=1 for the traceback "
            "and report it"
        )
    failure = classify(f"{exc}\n{output}")
    fix = f"{failure.name}: {failure.fix}" if failure else fallback
    return f"{output}\nfix: {fix}"


def as_step_error(step: str, exc: Exception) -> StepError | None:
    """A failed docker call (python-on-whales' DockerException) or a timed-out command inside
    step `step` as that step's StepError; None for anything else (a bug, reported by `main`)."""
    import subprocess

    if isinstance(exc, subprocess.TimeoutExpired):
        command = " ".join(str(c) for c in exc.cmd) if isinstance(exc.cmd, list) else exc.cmd
        return StepError(step, command, f"timed out waiting after {exc.timeout:.0f}s", "retry")
    stderr = getattr(exc, "stderr", None)
    if stderr is None:
        return None
    command = " ".join(str(c) for c in getattr(exc, "docker_command", []) or [])
    output = "\n".join(str(part) for part in (getattr(exc, "stdout", None), stderr) if part)
    return StepError(
        step, command or type(exc).__name__, output, "`nox -s doctor` checks Docker and the machine"
    )
