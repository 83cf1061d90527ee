"""Input checks that need code rather than a case folder (the invalid model files are cases
under tests/unit/invalid/, run by test_invalid_input.py): labels a kubelet may set are accepted
on a mirrored node, a malformed platform/pins.yaml is refused (a case folder would hold a
second copy of every pin), and the --kind-subnet option is checked before anything is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamforge.commands.cli import main
from streamforge.model import pins
from streamforge.model.load import load_platform
from tests.conftest import REPO

HOMELAB = "envs/homelab.yaml"


def line_of(path: Path, snippet: str) -> int:
    found = [n for n, line in enumerate(path.read_text().splitlines(), 1) if snippet in line]
    assert found, f"{snippet!r} not in {path}"
    return found[-1]


def top_level_line(path: Path, key: str) -> int:
    """The line of the top-level `key:` of a YAML file."""
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:"))


@pytest.mark.parametrize(
    "key",
    [
        "topology.kubernetes.io/zone",
        "node.kubernetes.io/instance-type",
        "node.kubernetes.io/rack",
        "rack.node.kubernetes.io/row",
        "kubelet.kubernetes.io/x",
        "nodekubernetes.io/x",
        "example.com/pool",
    ],
)
def test_labels_the_kubelet_may_set_are_accepted_on_a_mirrored_node(
    model_copy: Path, key: str
) -> None:
    env = model_copy / HOMELAB
    env.write_text(env.read_text().replace("streamforge.io/pool: tools", f"{key}: rack-a", 1))
    node = load_platform(model_copy, "local").env.node("k2w-7")
    assert node is not None and node.labels == {key: "rack-a"}


@pytest.mark.parametrize(
    ("old", "new", "problem", "fix"),
    [
        (
            "linux-amd64: 50030de23cf40a18505f20426f6a8506bedf13c6e509244bd1fa9463721b0f54",
            "linux-amd64: 50030de23cf40a18",
            "is not a SHA-256 checksum (16 characters)",
            "write the 64 lower-case hex digits",
        ),
        (
            "@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
            "@sha256:3489c767",
            "image digest 'sha256:3489c767' is not sha256: and 64 hex digits",
            "write kindest/node:v1.36.1@sha256:<64 hex digits>",
        ),
        (
            "  kind_node: kindest/node",
            "  old_node: kindest/node",
            "no pin for images.kind_node",
            "add it under images:",
        ),
    ],
    ids=["short-checksum", "short-digest", "missing-pin"],
)
def test_bad_pin_is_refused_with_file_line_and_fix(
    model_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    old: str,
    new: str,
    problem: str,
    fix: str,
) -> None:
    pinned = model_copy / "platform" / "pins.yaml"
    text = (REPO / "platform" / "pins.yaml").read_text()
    assert old in text
    pinned.write_text(text.replace(old, new, 1))
    monkeypatch.setattr(pins, "PINS_FILE", pinned)
    out = model_copy / "out"
    code = main(["render", "--env", "local", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not out.exists()
    line = line_of(pinned, new.split(":")[0] if "no pin" in problem else new)
    if "no pin" in problem:
        line = top_level_line(pinned, "images")
    where = f"platform/pins.yaml:{line}: "
    assert any(where in e and problem in e and fix in e for e in err.splitlines()), err


@pytest.mark.parametrize(
    ("subnet", "message"),
    [
        ("not-a-subnet", "kind subnet 'not-a-subnet' is not an IPv4 subnet; write it like"),
        ("10.0.0.0/29", "kind subnet '10.0.0.0/29' is too small"),
        ("10.0.0.0/28", "kind subnet '10.0.0.0/28' is too small"),
    ],
)
def test_kind_subnet_option_is_checked(model_copy: Path, capsys, subnet: str, message: str) -> None:
    out = model_copy / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "--env", "local", "--output", str(out), "--kind-subnet", subnet])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and not out.exists()
    assert f"argument --kind-subnet: {message}" in err
    assert "not an IPv4 subnet" in message or "use a /27 or larger" in err
    assert "Traceback" not in err
