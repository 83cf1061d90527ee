"""A real Kubernetes API server for the API-tier tests: kube-apiserver + etcd, no kubelet, no
scheduler, no controller-manager. Objects are validated, admitted and stored exactly as in a
cluster, but nothing runs (no pods start, no namespace is ever finalised, no default service
account appears).

Both binaries come from PATH; `.ci/apiserver/build.sh BIN_DIR` builds them from the Go module
proxy at the versions in platform/pins.yaml (CI puts BIN_DIR on PATH). Everything listens on
127.0.0.1 only, on free ports, with state in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import missing

CLUSTER_NAME = "sf-api-test"
CONTEXT = f"kind-{CLUSTER_NAME}"  # the project addresses clusters as --context kind-<name>
SERVICE_CIDR = "10.96.0.0/16"
START_TIMEOUT = 120.0  # seconds; a cold kube-apiserver on 2 cores is ready in ~10 s
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class ApiServer:
    """What the `apiserver` fixture yields."""

    kubeconfig: Path  # admin (system:masters) kubeconfig; its current context is `context`
    context: str  # "kind-sf-api-test"
    server: str  # https://127.0.0.1:<port>
    ca_file: Path  # the CA that signed the serving and the admin client certificate
    logs: dict[str, Path] = field(default_factory=dict)  # "etcd" / "kube-apiserver" -> log file


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as error:
        return f"({error})"
    return "\n".join(text[-lines:])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, now: datetime.datetime
) -> x509.CertificateBuilder:
    """A certificate for `key`, valid from five minutes before `now` for a day."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _ca(now: datetime.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("sf-api-test-ca")
    usage = x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=True,
        crl_sign=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        _builder(name, name, key, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    sans: list[x509.GeneralName],
    now: datetime.datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A key and a certificate for it, signed by the CA, for `usage` (server or client)."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(subject, ca.subject, key, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _serving_names() -> list[x509.GeneralName]:
    """The names clients reach the API server by: 127.0.0.1 here, the `kubernetes` service."""
    service_ip = next(iter(ipaddress.IPv4Network(SERVICE_CIDR).hosts()))
    dns = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    return [
        x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
        x509.IPAddress(service_ip),
        *(x509.DNSName(name) for name in dns),
    ]


def _write_pki(pki: Path) -> dict[str, Path]:
    """CA, serving cert (127.0.0.1/localhost), admin client cert (system:masters), SA key."""
    files: dict[str, Path] = {}

    def save(name: str, data: bytes) -> None:
        path = pki / name
        path.write_bytes(data)
        path.chmod(0o600)
        files[name] = path

    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca = _ca(now)
    save("ca.crt", ca.public_bytes(serialization.Encoding.PEM))
    leaves = {
        "serving": (_name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, _serving_names()),
        "admin": (_name("kubernetes-admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH, []),
    }
    for prefix, (subject, usage, sans) in leaves.items():
        key, cert = _leaf(ca_key, ca, subject, usage, sans, now)
        save(f"{prefix}.crt", cert.public_bytes(serialization.Encoding.PEM))
        save(f"{prefix}.key", _key_pem(key))
    sa_key = ec.generate_private_key(ec.SECP256R1())
    save("sa.key", _key_pem(sa_key))
    save(
        "sa.pub",
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return files


def _kubeconfig(server: str, pki: dict[str, Path]) -> str:
    def b64(name: str) -> str:
        return base64.b64encode(pki[name].read_bytes()).decode()

    # JSON is YAML: kubectl, client-go and the kubernetes Python client all read it
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": CONTEXT,
                    "cluster": {"server": server, "certificate-authority-data": b64("ca.crt")},
                }
            ],
            "users": [
                {
                    "name": CONTEXT,
                    "user": {
                        "client-certificate-data": b64("admin.crt"),
                        "client-key-data": b64("admin.key"),
                    },
                }
            ],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT}}],
            "current-context": CONTEXT,
            "preferences": {},
        },
        indent=2,
    )


def _die_with_parent() -> None:
    """Child side of Popen: get SIGTERM when pytest dies, so nothing outlives a killed run."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)


def _opener(context: ssl.SSLContext | None) -> urllib.request.OpenerDirector:
    # no proxy from the environment: this traffic stays on 127.0.0.1
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )


def _wait_ok(
    url: str,
    procs: dict[str, subprocess.Popen[bytes]],
    deadline: float,
    context: ssl.SSLContext | None = None,
) -> None:
    """Poll `url` until it answers 200; raise if a process exits or the deadline passes."""
    last = "no answer yet"
    while True:
        for label, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{label} exited with status {proc.returncode}")
        try:
            with _opener(context).open(url, timeout=5) as answer:
                if answer.status == 200:
                    return
                last = f"HTTP {answer.status}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}: {error.read()[-500:].decode(errors='replace')}"
        except (OSError, ssl.SSLError) as error:
            last = repr(error)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not ready: {last}")
        time.sleep(0.25)


@pytest.fixture(scope="session")
def apiserver() -> Iterator[ApiServer]:
    binaries = {name: shutil.which(name) for name in ("etcd", "kube-apiserver")}
    absent = [name for name, path in binaries.items() if path is None]
    if absent:
        missing(f"{' and '.join(absent)} not on PATH (.ci/apiserver/build.sh builds them)")
    etcd_bin, apiserver_bin = str(binaries["etcd"]), str(binaries["kube-apiserver"])

    root = Path(tempfile.mkdtemp(prefix="sf-apiserver-"))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = {"etcd": root / "etcd.log", "kube-apiserver": root / "kube-apiserver.log"}
    try:
        started = time.monotonic()
        failure = ""
        try:
            ready = _launch(root, etcd_bin, apiserver_bin, procs, logs)
        except RuntimeError as error:
            failure = str(error)
        if failure:
            tails = "\n".join(
                f"--- {label} ({path}), last lines:\n{_tail(path)}"
                for label, path in logs.items()
                if path.exists()
            )
            pytest.fail(f"the test API server did not start: {failure}\n{tails}", pytrace=False)
        print(f"\napiserver: {ready.server} ready in {time.monotonic() - started:.1f}s")
        yield ready
    finally:
        for label in ("kube-apiserver", "etcd"):
            if label in procs:
                _stop(procs[label])
        shutil.rmtree(root, ignore_errors=True)


def _start_etcd(
    root: Path, etcd_bin: str, procs: dict[str, subprocess.Popen[bytes]], log: Path, deadline: float
) -> str:
    """Start etcd on free ports with its data under `root`; wait for /health; its client URL."""
    data = root / "etcd-data"
    data.mkdir(mode=0o700)
    client_url = f"http://127.0.0.1:{_free_port()}"
    peer_url = f"http://127.0.0.1:{_free_port()}"
    metrics_url = f"http://127.0.0.1:{_free_port()}"
    procs["etcd"] = _start(
        [
            etcd_bin,
            "--name=sf-api-test",
            f"--data-dir={data}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=sf-api-test={peer_url}",
            f"--listen-metrics-urls={metrics_url}",
            "--initial-cluster-state=new",
            "--unsafe-no-fsync",  # throwaway data: skip fsync, much faster on slow disks
            "--log-level=warn",
        ],
        log,
    )
    _wait_ok(f"{client_url}/health", procs, deadline)
    return client_url


def _apiserver_argv(
    apiserver_bin: str, etcd_url: str, port: int, pki: dict[str, Path]
) -> list[str]:
    return [
        apiserver_bin,
        f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={pki['ca.crt'].parent}",
        f"--tls-cert-file={pki['serving.crt']}",
        f"--tls-private-key-file={pki['serving.key']}",
        f"--client-ca-file={pki['ca.crt']}",  # the admin user: O=system:masters cert
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki['sa.pub']}",
        f"--service-account-signing-key-file={pki['sa.key']}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allow-privileged=true",  # as kubeadm/kind: privileged DaemonSets are admitted
        # no kubelet reaches it and 127.0.0.1 is not a valid Endpoints address
        "--endpoint-reconciler-type=none",
        "--profiling=false",
    ]


def _launch(
    root: Path,
    etcd_bin: str,
    apiserver_bin: str,
    procs: dict[str, subprocess.Popen[bytes]],
    logs: dict[str, Path],
) -> ApiServer:
    """Start etcd, then kube-apiserver (recorded in `procs` as they start); wait for /readyz."""
    (root / "pki").mkdir(mode=0o700)
    pki = _write_pki(root / "pki")
    deadline = time.monotonic() + START_TIMEOUT
    etcd_url = _start_etcd(root, etcd_bin, procs, logs["etcd"], deadline)
    port = _free_port()
    server = f"https://127.0.0.1:{port}"
    procs["kube-apiserver"] = _start(
        _apiserver_argv(apiserver_bin, etcd_url, port, pki), logs["kube-apiserver"]
    )
    tls = ssl.create_default_context(cafile=str(pki["ca.crt"]))
    tls.load_cert_chain(str(pki["admin.crt"]), str(pki["admin.key"]))
    _wait_ok(f"{server}/readyz", procs, deadline, tls)

    kubeconfig = root / "kubeconfig"
    kubeconfig.write_text(_kubeconfig(server, pki))
    kubeconfig.chmod(0o600)
    return ApiServer(
        kubeconfig=kubeconfig, context=CONTEXT, server=server, ca_file=pki["ca.crt"], logs=logs
    )


def crd(group: str, kind: str, plural: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A namespaced CustomResourceDefinition serving v1 of `kind` with `schema`."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }
