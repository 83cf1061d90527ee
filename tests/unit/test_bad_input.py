"""Input checks that need code rather than a case folder (the invalid model files are cases
under tests/unit/invalid/, run by test_invalid_input.py): labels a kubelet may set are accepted
on a mirrored node, and the --kind-subnet option is checked before anything is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamforge.commands.cli import main
from streamforge.model.load import load_platform

HOMELAB = "envs/homelab.yaml"


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
