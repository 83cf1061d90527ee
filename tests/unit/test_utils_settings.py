"""streamforge_utils.Settings: environment variables, mounted Strimzi secrets, clear errors."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from streamforge_utils import Settings, SettingsError, client_options, run_service, ssl_context

FAKE_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def real_ca_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cluster-ca v0")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.crt"
    path.write_text(FAKE_PEM)
    return path


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    """A minimal valid environment; SECRETS_DIR points at an empty directory."""
    base = {
        "SERVICE_NAME": "ingest",
        "KAFKA_USERNAME": "ingest",
        "KAFKA_PASSWORD": "s3cret",
        "SECRETS_DIR": str(tmp_path / "no-secrets"),
    }
    return {**base, **values}


def problems(environ: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    assert str(raised.value) == "\n".join(raised.value.problems)
    return raised.value.problems


def test_defaults_point_at_the_strimzi_tls_listener(tmp_path: Path, ca_file: Path) -> None:
    settings = Settings.from_env(env(tmp_path, KAFKA_CA_FILE=str(ca_file)))
    assert settings.kafka_bootstrap_servers == "k3-kafka-bootstrap.kafka.svc:9093"
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert (settings.http_host, settings.http_port, settings.log_level) == ("0.0.0.0", 8080, "INFO")
    assert settings.kafka_ca_file == ca_file
    assert "s3cret" not in repr(settings)


def test_mounted_strimzi_secrets_are_enough(tmp_path: Path) -> None:
    """The KafkaUser secret and <cluster>-cluster-ca-cert mounted as files; no Kafka env vars."""
    secrets = tmp_path / "secrets"
    (secrets / "kafka-user").mkdir(parents=True)
    (secrets / "kafka-user" / "password").write_text("from-the-secret")
    (secrets / "kafka-user" / "sasl.jaas.config").write_text(
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="orders" password="from-the-secret";'
    )
    (secrets / "kafka-ca").mkdir()
    (secrets / "kafka-ca" / "ca.crt").write_text(FAKE_PEM)
    settings = Settings.from_env({"SERVICE_NAME": "orders", "SECRETS_DIR": str(secrets)})
    assert settings.kafka_username == "orders"
    assert settings.kafka_password == "from-the-secret"
    assert settings.kafka_ca_file == secrets / "kafka-ca" / "ca.crt"


def test_password_file(tmp_path: Path, ca_file: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("from-file\n")
    environ = env(tmp_path, KAFKA_CA_FILE=str(ca_file), KAFKA_PASSWORD_FILE=str(password_file))
    del environ["KAFKA_PASSWORD"]
    assert Settings.from_env(environ).kafka_password == "from-file"


def test_missing_service_name(tmp_path: Path, ca_file: Path) -> None:
    environ = env(tmp_path, KAFKA_CA_FILE=str(ca_file))
    del environ["SERVICE_NAME"]
    assert problems(environ) == [
        "SERVICE_NAME is not set: set it to the service's name, e.g. SERVICE_NAME=ingest"
    ]


def test_missing_credentials_and_ca_one_line_each(tmp_path: Path) -> None:
    found = problems({"SERVICE_NAME": "ingest", "SECRETS_DIR": str(tmp_path)})
    assert len(found) == 3
    username, password, ca = found
    assert username.startswith("KAFKA_USERNAME is not set: set it to the KafkaUser's name")
    assert password.startswith("KAFKA_PASSWORD is not set: set KAFKA_PASSWORD, or ")
    assert "KAFKA_PASSWORD_FILE" in password
    assert f"mount the KafkaUser secret at {tmp_path / 'kafka-user'}" in password
    assert ca.startswith("KAFKA_CA_FILE is not set: set it to the cluster CA certificate")
    assert "<cluster>-cluster-ca-cert" in ca
    assert all("\n" not in line for line in found)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HTTP_PORT", "http", "HTTP_PORT='http' is invalid: set it to a whole number from 0 to"),
        ("HTTP_PORT", "70000", "HTTP_PORT='70000' is invalid"),
        ("SHUTDOWN_TIMEOUT", "-3", "SHUTDOWN_TIMEOUT='-3' is invalid: set it to a positive"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL='LOUD' is invalid: set it to one of DEBUG, INFO"),
        ("SERVICE_NAME", "My Service", "SERVICE_NAME='My Service' is invalid"),
        ("KAFKA_BOOTSTRAP_SERVERS", "kafka", "KAFKA_BOOTSTRAP_SERVERS='kafka' is invalid"),
        ("KAFKA_SECURITY_PROTOCOL", "SSL", "KAFKA_SECURITY_PROTOCOL='SSL' is invalid"),
    ],
)
def test_invalid_values(
    tmp_path: Path, ca_file: Path, name: str, value: str, expected: str
) -> None:
    (line,) = problems(env(tmp_path, KAFKA_CA_FILE=str(ca_file), **{name: value}))
    assert line.startswith(expected)


def test_unreadable_or_wrong_ca_file(tmp_path: Path) -> None:
    absent = tmp_path / "absent.crt"
    (line,) = problems(env(tmp_path, KAFKA_CA_FILE=str(absent)))
    assert line == f"KAFKA_CA_FILE={absent} cannot be read (No such file or directory): " + (
        "point it at a readable file"
    )
    key = tmp_path / "user.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    (line,) = problems(env(tmp_path, KAFKA_CA_FILE=str(key)))
    assert line.startswith(f"KAFKA_CA_FILE={key} holds no PEM certificate: use the ca.crt key")


def test_plaintext_needs_no_credentials(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "SERVICE_NAME": "dev",
            "KAFKA_SECURITY_PROTOCOL": "plaintext",
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
            "SECRETS_DIR": str(tmp_path),
        }
    )
    assert client_options(settings) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "client_id": "dev",
        "security_protocol": "PLAINTEXT",
    }


def test_client_options_for_scram_over_tls(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(real_ca_pem())
    settings = Settings.from_env(env(tmp_path, KAFKA_CA_FILE=str(ca)))
    options = client_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("ingest", "s3cret")
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname is True
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert [c["subject"] for c in ssl_context(settings).get_ca_certs()] == [
        ((("commonName", "cluster-ca v0"),),)
    ]


def test_run_service_reports_bad_settings_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("SERVICE_NAME", "HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    monkeypatch.setenv("HTTP_PORT", "eighty")

    async def main(_: object) -> None:  # pragma: no cover - never started
        raise AssertionError("main ran despite bad settings")

    assert run_service(main) == 2
    assert capsys.readouterr().err.splitlines() == [
        "configuration error: SERVICE_NAME is not set: set it to the service's name, "
        "e.g. SERVICE_NAME=ingest",
        "configuration error: HTTP_PORT='eighty' is invalid: set it to a whole number from 0 "
        "to 65535, or unset it for 8080",
    ]


def test_without_kafka_no_kafka_setting_is_needed(tmp_path: Path) -> None:
    # an env that leaves Kafka out: no credentials, CA or bootstrap are mounted or checked
    settings = Settings.from_env(
        {"SERVICE_NAME": "dev", "KAFKA_ENABLED": "false", "SECRETS_DIR": str(tmp_path)}
    )
    assert settings.kafka_enabled is False
    with pytest.raises(SettingsError, match="KAFKA_ENABLED='maybe' is invalid"):
        Settings.from_env({"SERVICE_NAME": "dev", "KAFKA_ENABLED": "maybe"})


def test_the_running_build_comes_from_service_version(tmp_path: Path) -> None:
    base = {"SERVICE_NAME": "dev", "KAFKA_ENABLED": "false"}
    assert Settings.from_env(base).version == ""
    assert Settings.from_env({**base, "SERVICE_VERSION": "3f2a9c1b7d0e"}).version == "3f2a9c1b7d0e"
