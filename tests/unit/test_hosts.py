"""The opt-in /etc/hosts block, on a scratch hosts file."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamforge.commands.cli import main

ORIGINAL = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n10.0.0.5 nas.lan\n"


@pytest.fixture
def hosts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hosts"
    path.write_text(ORIGINAL)
    return path


def test_print_only_changes_nothing(hosts_file: Path, capsys) -> None:
    assert main(["hosts", "--hosts-file", str(hosts_file)]) == 0
    out = capsys.readouterr().out
    assert "127.0.0.1 kafka-ui.dmz.home" in out and "127.0.0.1 docs.dmz.home" in out
    assert hosts_file.read_text() == ORIGINAL


def test_apply_is_idempotent_and_remove_restores(hosts_file: Path) -> None:
    assert main(["hosts", "--apply", "--hosts-file", str(hosts_file)]) == 0
    applied = hosts_file.read_text()
    assert applied.startswith(ORIGINAL)
    assert "# BEGIN streamforge" in applied and "# END streamforge" in applied
    assert "127.0.0.1 traefik.dmz.home" in applied
    assert main(["hosts", "--apply", "--hosts-file", str(hosts_file)]) == 0
    assert hosts_file.read_text() == applied
    assert (
        main(["hosts", "--apply", "--address", "172.18.255.200", "--hosts-file", str(hosts_file)])
        == 0
    )
    assert hosts_file.read_text().count("# BEGIN streamforge") == 1
    assert "172.18.255.200 kafka-ui.dmz.home" in hosts_file.read_text()
    assert main(["hosts", "--remove", "--hosts-file", str(hosts_file)]) == 0
    assert hosts_file.read_text() == ORIGINAL


def test_a_broken_block_is_reported_not_guessed(hosts_file: Path, capsys) -> None:
    hosts_file.write_text(ORIGINAL + "# BEGIN streamforge\n1.2.3.4 x.dmz.home\n")
    assert main(["hosts", "--remove", "--hosts-file", str(hosts_file)]) == 1
    assert "without '# END streamforge'" in capsys.readouterr().err
    assert hosts_file.read_text().endswith("1.2.3.4 x.dmz.home\n")
