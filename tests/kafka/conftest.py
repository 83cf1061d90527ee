"""A real Kafka broker for the `kafka` tier: Apache Kafka's own jars, one KRaft node, on loopback.

The session fixture `kafka_broker`:
- makes a test CA and a broker certificate (SAN localhost, 127.0.0.1) with `cryptography`,
  plus a second, unrelated CA that clients must refuse;
- writes server.properties: PLAINTEXT (inter-broker) and CONTROLLER listeners on 127.0.0.1, and
  a SASL_SSL listener with SCRAM-SHA-512, like Strimzi's TLS listener with
  `authentication: scram-sha-512`;
- formats the storage with kafka.tools.StorageTool, creating the SCRAM user;
- starts `java -cp '<jars>/*' kafka.Kafka server.properties` and waits for the SASL_SSL port;
- stops the broker at the end of the session, whatever happened.

The jars come from .ci/kafka/fetch-jars.sh (Maven Central). If java or the jars are missing the
tests skip, or fail under STREAMFORGE_STRICT=1 (see tests/conftest.py).
"""

from __future__ import annotations

import base64
import datetime
import importlib.util
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO = Path(__file__).resolve().parents[2]
POM = REPO / ".ci" / "kafka" / "pom.xml"
FETCH_JARS = REPO / ".ci" / "kafka" / "fetch-jars.sh"
START_TIMEOUT = 120.0  # seconds; a cold JVM on a 2-core machine needs well under half of that
SCRAM_USER = "streamforge-test"
# The broker side of SCRAM: credentials come from the metadata log, so no user/password here.
SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


def _root_conftest() -> ModuleType:
    """tests/conftest.py as a module (a plain `import conftest` here would import this file)."""
    spec = importlib.util.spec_from_file_location(
        "_streamforge_root_conftest", REPO / "tests" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


missing = _root_conftest().missing


@dataclass(frozen=True)
class KafkaBroker:
    """Connection facts of the running test broker."""

    bootstrap: str  # SASL_SSL listener, "localhost:<port>"
    internal_bootstrap: str  # PLAINTEXT listener, "127.0.0.1:<port>", for test plumbing only
    username: str
    password: str
    ca_file: Path  # the CA that signed the broker's certificate
    untrusted_ca_file: Path  # an unrelated CA
    log_file: Path
    startup_seconds: float  # from `java ... kafka.Kafka` until the SASL_SSL port accepted


# --- certificates ---------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "StreamForge tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    # Kafka's PEM keystore reads PKCS#8 ("BEGIN PRIVATE KEY") only.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _make_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write_certs(directory: Path) -> tuple[Path, Path, Path]:
    """Write ca.crt, untrusted-ca.crt and the broker's PEM keystore; return their paths."""
    ca_key, ca_cert = _make_ca("StreamForge test cluster CA")
    _, other_ca_cert = _make_ca("Some other CA")
    key, cert = _make_server_cert(ca_key, ca_cert)
    pem = serialization.Encoding.PEM
    ca_file = directory / "ca.crt"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    untrusted = directory / "untrusted-ca.crt"
    untrusted.write_bytes(other_ca_cert.public_bytes(pem))
    keystore = directory / "broker-keystore.pem"  # key, then the chain (leaf first)
    keystore.write_bytes(_pem_key(key) + cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    keystore.chmod(0o600)
    return ca_file, untrusted, keystore


# --- the broker -----------------------------------------------------------------------------


def _kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    assert match, f"no <kafka.version> in {POM}"
    return match.group(1)


def _jars_dir() -> Path:
    """The directory of broker jars, fetched with .ci/kafka/fetch-jars.sh when mvn is there."""
    version = _kafka_version()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    default = cache / "streamforge" / "kafka-jars" / version
    jars = Path(os.environ.get("STREAMFORGE_KAFKA_JARS") or default)
    if (jars / ".complete").is_file():
        return jars
    if shutil.which("mvn") is None:
        missing(
            f"the Kafka {version} broker jars are not in {jars} and mvn is not installed to "
            "fetch them: apt-get install maven, then bash .ci/kafka/fetch-jars.sh"
        )
    fetched = subprocess.run(
        ["bash", str(FETCH_JARS), str(jars)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if fetched.returncode != 0 or not (jars / ".complete").is_file():
        tail = " | ".join(fetched.stderr.strip().splitlines()[-5:])
        missing(f"bash .ci/kafka/fetch-jars.sh could not fetch the Kafka {version} jars: {tail}")
    return jars


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        missing("java is not installed (Kafka 4 needs JDK 17+): apt-get install openjdk-17-jdk")
    assert java is not None
    probe = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', probe.stderr)
    if not match or int(match.group(1)) < 17:
        missing(f"Kafka 4 needs Java 17+, `java -version` says: {probe.stderr.strip()[:200]}")
    return java


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _cluster_id() -> str:
    """A UUID in unpadded URL-safe base64, like `StorageTool random-uuid` (never starting "-")."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _server_properties(
    data: Path, keystore: Path, internal: int, controller: int, sasl_ssl: int
) -> str:
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=INTERNAL://127.0.0.1:{internal},CONTROLLER://127.0.0.1:{controller},SASL_SSL://127.0.0.1:{sasl_ssl}
advertised.listeners=INTERNAL://127.0.0.1:{internal},SASL_SSL://localhost:{sasl_ssl}
listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={SCRAM_JAAS}
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.client.auth=none
log.dirs={data}
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
"""


LOG4J2 = """\
status = warn
shutdownHook = disable
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
"""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _jvm(java: str, jars: Path, log4j: Path) -> list[str]:
    """`java` with the broker's options and class path, before the main class."""
    return [
        java,
        "-Xms256m",
        "-Xmx512m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",  # the C1 compiler only: a faster start for a short-lived broker
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{jars}/*",
    ]


def _format_storage(jvm: list[str], config: Path, password: str) -> None:
    """Format the KRaft storage of a new cluster, creating the SCRAM user with `password`."""
    formatted = subprocess.run(
        [
            *jvm,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            _cluster_id(),
            "--config",
            str(config),
            "--add-scram",
            f"SCRAM-SHA-512=[name={SCRAM_USER},password={password}]",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert formatted.returncode == 0, (
        f"StorageTool format failed:\n{formatted.stdout}{formatted.stderr}"
    )


def _wait_for_port(
    process: subprocess.Popen[bytes], port: int, deadline: float, work: Path, log_file: Path
) -> None:
    """Wait until the broker accepts on `port`; fail the session if it exits or is too slow."""
    while not _accepts(port):
        if process.poll() is not None:
            pytest.fail(
                f"the Kafka broker exited with {process.returncode} while starting:\n"
                f"{_log_tail(log_file)}\n{_log_tail(work / 'broker.out')}"
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"the Kafka broker's SASL_SSL port {port} did not open within "
                f"{START_TIMEOUT:.0f}s:\n{_log_tail(log_file)}"
            )
        time.sleep(0.1)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    java = _java()
    jars = _jars_dir()
    work = tmp_path_factory.mktemp("kafka")
    ca_file, untrusted_ca_file, keystore = _write_certs(work)
    internal, controller, sasl_ssl = _free_ports(3)
    config = work / "server.properties"
    config.write_text(_server_properties(work / "data", keystore, internal, controller, sasl_ssl))
    log_file = work / "broker.log"
    log4j = work / "log4j2.properties"
    log4j.write_text(LOG4J2.format(log=log_file))
    password = base64.urlsafe_b64encode(os.urandom(18)).decode()
    jvm = _jvm(java, jars, log4j)
    _format_storage(jvm, config, password)

    started = time.monotonic()
    with (work / "broker.out").open("wb") as out:
        process = subprocess.Popen(
            [*jvm, "kafka.Kafka", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: teardown stops the whole JVM
        )
    try:
        _wait_for_port(process, sasl_ssl, started + START_TIMEOUT, work, log_file)
        startup = time.monotonic() - started
        print(f"\nKafka broker started in {startup:.1f}s (SASL_SSL localhost:{sasl_ssl})")
        yield KafkaBroker(
            bootstrap=f"localhost:{sasl_ssl}",
            internal_bootstrap=f"127.0.0.1:{internal}",
            username=SCRAM_USER,
            password=password,
            ca_file=ca_file,
            untrusted_ca_file=untrusted_ca_file,
            log_file=log_file,
            startup_seconds=startup,
        )
    finally:
        _stop(process)
