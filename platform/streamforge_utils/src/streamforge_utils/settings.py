"""Service settings, read from environment variables and mounted Strimzi secrets.

Precedence for each Kafka credential: an explicit environment variable, then a `*_FILE` variable
naming a file, then the secret mounted under `SECRETS_DIR` (see docs/streamforge-utils.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BOOTSTRAP = "k3-kafka-bootstrap.kafka.svc:9093"
DEFAULT_SECRETS_DIR = "/var/run/secrets/streamforge"
# Sub-directories of SECRETS_DIR where the two Strimzi secrets are mounted.
USER_SECRET_SUBDIR = "kafka-user"  # KafkaUser secret `<user>`: keys password, sasl.jaas.config
CA_SECRET_SUBDIR = "kafka-ca"  # `<cluster>-cluster-ca-cert`: key ca.crt
SECURITY_PROTOCOLS = ("SASL_SSL", "PLAINTEXT")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_JAAS_USERNAME = re.compile(r'\busername\s*=\s*"([^"]*)"')
_SERVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")


Getter = Callable[[str], str | None]


class SettingsError(ValueError):
    """A setting is missing or invalid. `str()` is one line per problem, each naming the fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Settings:
    """Everything a service needs to talk to Kafka and to be run by Kubernetes."""

    service_name: str
    http_host: str = "0.0.0.0"
    http_port: int = 8080
    log_level: str = "INFO"
    shutdown_timeout: float = 20.0
    # the build that runs (SERVICE_VERSION: the common chart passes the image tag), answered
    # in every HTTP response's X-Service-Version header; empty when not set
    version: str = ""
    # False where the env gives the service no Kafka (KAFKA_ENABLED=false, set by the common
    # chart when kafka.enabled is false): the Kafka settings below are then not checked
    kafka_enabled: bool = True
    kafka_bootstrap_servers: str = DEFAULT_BOOTSTRAP
    kafka_security_protocol: str = "SASL_SSL"
    kafka_username: str | None = None
    kafka_password: str | None = field(default=None, repr=False)
    kafka_ca_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from `environ` (default: `os.environ`); raise SettingsError if unusable."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        service_name = get("SERVICE_NAME") or ""
        if not service_name:
            problems.append(
                "SERVICE_NAME is not set: set it to the service's name, e.g. SERVICE_NAME=ingest"
            )
        elif not _SERVICE_NAME.match(service_name):
            problems.append(
                f"SERVICE_NAME={service_name!r} is invalid: use lower-case letters, digits, "
                "'-', '_' or '.' (at most 63 characters), e.g. SERVICE_NAME=ingest"
            )

        http_port = _int_setting(get, "HTTP_PORT", 8080, 0, 65535, problems)
        shutdown_timeout = _float_setting(get, "SHUTDOWN_TIMEOUT", 20.0, problems)
        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            problems.append(
                f"LOG_LEVEL={log_level!r} is invalid: set it to one of {', '.join(LOG_LEVELS)}"
            )

        enabled = (get("KAFKA_ENABLED") or "true").lower()
        if enabled not in ("true", "false"):
            problems.append(
                f"KAFKA_ENABLED={enabled!r} is invalid: set it to true (the default) or false"
            )
        kafka_enabled = enabled != "false"
        bootstrap = get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_BOOTSTRAP
        for server in bootstrap.split(",") if kafka_enabled else []:
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                problems.append(
                    f"KAFKA_BOOTSTRAP_SERVERS={bootstrap!r} is invalid: use host:port[,host:port], "
                    f"e.g. KAFKA_BOOTSTRAP_SERVERS={DEFAULT_BOOTSTRAP}"
                )
                break

        protocol = (get("KAFKA_SECURITY_PROTOCOL") or "SASL_SSL").upper()
        if kafka_enabled and protocol not in SECURITY_PROTOCOLS:
            problems.append(
                f"KAFKA_SECURITY_PROTOCOL={protocol!r} is invalid: set it to SASL_SSL (Strimzi's "
                "TLS listener, the default) or PLAINTEXT (a local broker without security)"
            )

        secrets_dir = Path(get("SECRETS_DIR") or DEFAULT_SECRETS_DIR)
        user_dir = secrets_dir / USER_SECRET_SUBDIR
        username = password = None
        ca_file = None
        if kafka_enabled and protocol == "SASL_SSL":
            username = _username(get, user_dir, problems)
            password = _password(get, user_dir, problems)
            ca_file = _ca_file(get, secrets_dir / CA_SECRET_SUBDIR, problems)

        if problems:
            raise SettingsError(problems)
        return cls(
            service_name=service_name,
            http_host=get("HTTP_HOST") or "0.0.0.0",
            http_port=http_port,
            log_level=log_level,
            shutdown_timeout=shutdown_timeout,
            version=get("SERVICE_VERSION") or "",
            kafka_enabled=kafka_enabled,
            kafka_bootstrap_servers=bootstrap,
            kafka_security_protocol=protocol,
            kafka_username=username,
            kafka_password=password,
            kafka_ca_file=ca_file,
        )


def _int_setting(
    get: Getter, name: str, default: int, low: int, high: int, problems: list[str]
) -> int:
    raw = get(name)
    if raw is None:
        return default
    if raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    problems.append(
        f"{name}={raw!r} is invalid: set it to a whole number from {low} to {high}, "
        f"or unset it for {default}"
    )
    return default


def _float_setting(get: Getter, name: str, default: float, problems: list[str]) -> float:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value > 0:
        return value
    problems.append(
        f"{name}={raw!r} is invalid: set it to a positive number of seconds, "
        f"or unset it for {default:g}"
    )
    return default


def _read_file(name: str, path: Path, problems: list[str]) -> str | None:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        problems.append(
            f"{name}={path} cannot be read ({err.strerror}): point it at a readable file"
        )
        return None
    if not value:
        problems.append(f"{name}={path} is empty: point it at a file holding the value")
        return None
    return value


def _username(get: Getter, user_dir: Path, problems: list[str]) -> str | None:
    if username := get("KAFKA_USERNAME"):
        return username
    jaas = user_dir / "sasl.jaas.config"
    if jaas.is_file():
        match = _JAAS_USERNAME.search(jaas.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
    problems.append(
        "KAFKA_USERNAME is not set: set it to the KafkaUser's name (the name of its secret), "
        f"or mount that secret at {user_dir}"
    )
    return None


def _password(get: Getter, user_dir: Path, problems: list[str]) -> str | None:
    if password := get("KAFKA_PASSWORD"):
        return password
    if password_file := get("KAFKA_PASSWORD_FILE"):
        return _read_file("KAFKA_PASSWORD_FILE", Path(password_file), problems)
    mounted = user_dir / "password"
    if mounted.is_file():
        return _read_file(f"the mounted secret file {mounted} (KAFKA_PASSWORD)", mounted, problems)
    problems.append(
        "KAFKA_PASSWORD is not set: set KAFKA_PASSWORD, or KAFKA_PASSWORD_FILE to a file "
        f"holding it, or mount the KafkaUser secret at {user_dir}"
    )
    return None


def _ca_file(get: Getter, ca_dir: Path, problems: list[str]) -> Path | None:
    name = "KAFKA_CA_FILE"
    raw = get(name)
    path = Path(raw) if raw else ca_dir / "ca.crt"
    if raw is None and not path.is_file():
        problems.append(
            f"{name} is not set: set it to the cluster CA certificate (key ca.crt of the "
            f"secret <cluster>-cluster-ca-cert), or mount that secret at {ca_dir}"
        )
        return None
    text = _read_file(name, path, problems)
    if text is None:
        return None
    if "-----BEGIN CERTIFICATE-----" not in text:
        problems.append(
            f"{name}={path} holds no PEM certificate: use the ca.crt key of the secret "
            "<cluster>-cluster-ca-cert"
        )
        return None
    return path
