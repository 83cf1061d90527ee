"""platform/base/cert/script.sh with real bash and openssl; kubectl is a stand-in that signs
the submitted CSR with a test CA, the way cert-manager's CA issuer would."""

from __future__ import annotations

import base64
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, missing

SCRIPT = REPO / "platform/base/cert/script.sh"


@pytest.fixture(autouse=True)
def tools() -> None:
    for tool in ("bash", "openssl", "base64"):
        if shutil.which(tool) is None:
            missing(f"{tool} is not installed")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def openssl(*args: str, cwd: Path, stdin: str | None = None) -> str:
    return subprocess.run(
        ["openssl", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    folder = tmp_path / "ca"
    folder.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/CN=test root", cwd=folder)  # fmt: skip
    return folder


def sign(ca: Path, out: Path, sans: str, key: str = "tls.key") -> None:
    """A leaf for `sans` signed by the test CA, written as tls.key/tls.crt/ca.crt in `out`."""
    out.mkdir(exist_ok=True)
    openssl("genpkey", "-algorithm", "RSA", "-out", str(out / key), cwd=ca)
    openssl("req", "-new", "-key", str(out / key), "-subj", "/CN=leaf", "-out", "leaf.csr",
            cwd=ca)  # fmt: skip
    (ca / "ext.cnf").write_text(f"subjectAltName={sans}\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "ext.cnf", "-out", str(out / "tls.crt"),
            cwd=ca)  # fmt: skip
    shutil.copy(ca / "ca.crt", out / "ca.crt")


def test_help() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "--dry-run" in result.stdout and "homelab-ca-issuer" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--namespace", "n", "--dns", "a.dmz.home"], "--name is required"),
        (["--name", "x", "--namespace", "n"], "no SANs"),
        (["--name", "x", "--namespace", "n", "--ip", "300.1.1.1"], "--ip '300.1.1.1'"),
        (["--name", "x", "--namespace", "n", "--dns", "Bad_Name"], "--dns 'Bad_Name'"),
        (["--name", "X", "--namespace", "n", "--dns", "a.b"], "--name 'X'"),
        (["--name", "x", "--namespace", "n", "--dns", "a.b", "--key-size", "1024"], "--key-size"),
        (["--name", "x", "--namespace", "n", "--dns", "a.b", "--duration", "10m"], "--duration"),
        (
            ["--name", "x", "--namespace", "n", "--dns", "a.b", "--issuer-kind", "Foo"],
            "--issuer-kind",
        ),
        (["--name", "x", "--namespace"], "--namespace needs a value"),
        (["--bogus"], "unknown parameter '--bogus'"),
        (["verify"], "--out is required for verify"),
    ],
)
def test_bad_parameters_fail_with_one_line(args: list[str], expected: str) -> None:
    result = run(*args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_dry_run_prints_a_request_whose_csr_has_the_sans(tmp_path: Path) -> None:
    result = run("--name", "kafka-ui-tls", "--namespace", "kafka", "--dns",
                 "kafka-ui.dmz.home,*.dmz.home", "--ip", "192.168.1.153", "--dry-run",
                 "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "out").exists()  # a dry run writes nothing
    yaml = result.stdout
    assert "kind: CertificateRequest" in yaml and "apiVersion: cert-manager.io/v1" in yaml
    assert "name: homelab-ca-issuer" in yaml and "kind: ClusterIssuer" in yaml
    csr_b64 = re.search(r"^  request: (\S+)$", yaml, re.MULTILINE)
    assert csr_b64
    csr = base64.b64decode(csr_b64[1]).decode()
    text = openssl("req", "-noout", "-text", cwd=tmp_path, stdin=csr)
    assert "DNS:kafka-ui.dmz.home" in text and "DNS:*.dmz.home" in text
    assert "IP Address:192.168.1.153" in text


def test_verify_passes_for_a_cert_signed_by_the_ca(ca: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sign(ca, out, "DNS:app.dmz.home,IP:192.168.1.153")
    result = run("verify", "--out", str(out), "--dns", "app.dmz.home", "--ip", "192.168.1.153")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:")


def test_verify_fails_for_a_mismatched_key(ca: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sign(ca, out, "DNS:app.dmz.home")
    openssl("genpkey", "-algorithm", "RSA", "-out", str(out / "tls.key"), cwd=ca)
    result = run("verify", "--out", str(out))
    assert result.returncode != 0
    assert "does not match" in result.stderr


def test_verify_fails_for_a_missing_san_and_a_foreign_ca(ca: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    sign(ca, out, "DNS:app.dmz.home")
    result = run("verify", "--out", str(out), "--dns", "other.dmz.home")
    assert result.returncode != 0
    assert "SAN DNS:other.dmz.home is missing" in result.stderr
    other = tmp_path / "other"
    other.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k", "-out", "ca.crt",
            "-days", "1", "-subj", "/CN=other root", cwd=other)  # fmt: skip
    shutil.copy(other / "ca.crt", out / "ca.crt")
    result = run("verify", "--out", str(out))
    assert result.returncode != 0 and "does not verify against" in result.stderr


FAKE_KUBECTL = """#!/usr/bin/env bash
# kubectl stand-in: `apply` stores the request, `get` answers as cert-manager's CA issuer would
set -euo pipefail
state={state}
[[ $1 == --context ]] && {{ echo "$2" >"$state/context"; shift 2; }}
case $1 in
  apply) cp "$3" "$state/request.yaml" ;;
  get)
    jsonpath=${{@: -1}}
    if [[ -n "${{FAKE_NEVER_READY:-}}" ]]; then echo "False|Waiting on issuer||"; exit 0; fi
    if [[ $jsonpath == *conditions* ]]; then echo "True|Certificate fetched||"; exit 0; fi
    if [[ ! -f $state/tls.crt ]]; then
      sed -n 's/^  request: //p' "$state/request.yaml" | base64 -d >"$state/req.csr"
      openssl x509 -req -in "$state/req.csr" -CA {ca}/ca.crt -CAkey {ca}/ca.key \\
        -CAcreateserial -days 1 -copy_extensions copy -out "$state/tls.crt" 2>/dev/null
    fi
    case $jsonpath in
      *certificate*) base64 -w0 <"$state/tls.crt" ;;
      *ca*) base64 -w0 <{ca}/ca.crt ;;
    esac ;;
esac
"""


@pytest.fixture
def kubectl(ca: Path, tmp_path: Path) -> dict[str, str]:
    bindir, state = tmp_path / "bin", tmp_path / "state"
    bindir.mkdir()
    state.mkdir()
    fake = bindir / "kubectl"
    fake.write_text(FAKE_KUBECTL.format(state=state, ca=ca))
    fake.chmod(0o755)
    return {"PATH": f"{bindir}:{os.environ['PATH']}"}


def test_request_writes_verified_files_with_a_private_key(
    kubectl: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "issued"
    result = run("--name", "app-tls", "--namespace", "apps", "--dns", "app.dmz.home", "--ip",
                 "192.168.1.153", "--out", str(out), "--context", "homelab",
                 env=kubectl)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["ca.crt", "tls.crt", "tls.key"]
    assert stat.S_IMODE((out / "tls.key").stat().st_mode) == 0o600
    assert (tmp_path / "state/context").read_text().strip() == "homelab"
    check = run("verify", "--out", str(out), "--dns", "app.dmz.home", "--ip", "192.168.1.153")
    assert check.returncode == 0, check.stderr


def test_request_that_never_becomes_ready_times_out_and_writes_nothing(
    kubectl: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "issued"
    result = run("--name", "app-tls", "--namespace", "apps", "--dns", "app.dmz.home",
                 "--out", str(out), "--timeout", "1",
                 env={**kubectl, "FAKE_NEVER_READY": "1"})  # fmt: skip
    assert result.returncode != 0
    assert "not Ready after 1s (Waiting on issuer)" in result.stderr
    assert not out.exists()
