"""e2e: a real `streamforge up` on kind, then what a developer relies on: Traefik's address from
MetalLB, HTTPS through the Gateway trusted with the exported CA, *.dmz.home inside pods, Kafka
as a SCRAM user over TLS, and an RWX claim shared by pods on two nodes.

Needs the internet (kind node image, charts, images): opt in with STREAMFORGE_E2E=1. Without it,
or without kind/docker, the module skips, also under STREAMFORGE_STRICT=1 (CI's machine has no
registry, so this tier cannot run there).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamforge.pins import pins
from tests.conftest import REPO, docker_available, missing

pytestmark = pytest.mark.e2e

CONTEXT = "kind-streamforge"
# pinned in platform/pins.yaml, so the bill of materials (and `nox -s prefetch`) has them
BUSYBOX = pins().test_images["busybox"]
WHOAMI = pins().test_images["whoami"]
KAFKA = pins().test_images["kafka_client"]


def _gate() -> None:
    if os.environ.get("STREAMFORGE_E2E") != "1":
        missing(
            "e2e needs the internet and a kind cluster: set STREAMFORGE_E2E=1",
            allowed_in_strict=True,
        )
    reason = docker_available()
    if reason:
        missing(reason, allowed_in_strict=True)
    for tool in ("kind", "kubectl"):
        if shutil.which(tool) is None:
            missing(f"{tool} is not on PATH", allowed_in_strict=True)


def kubectl(
    *args: str, stdin: str | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--context", CONTEXT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def apply(*objects: dict[str, Any]) -> None:
    done = kubectl(
        "apply",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}),
    )
    assert done.returncode == 0, done.stderr


def wait_for(what: str, probe: Any, timeout: float = 300, every: float = 5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def pod_finished(namespace: str, name: str) -> str | None:
    out = kubectl("get", "pod", "-n", namespace, name, "-o", "jsonpath={.status.phase}")
    return out.stdout if out.stdout in ("Succeeded", "Failed") else None


def run_pod(namespace: str, name: str, spec: dict[str, Any], timeout: float = 300) -> str:
    """Run a one-shot pod to completion; return its log (fails the test if it failed)."""
    apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"restartPolicy": "Never", **spec},
        }
    )
    phase = wait_for(f"pod {namespace}/{name}", lambda: pod_finished(namespace, name), timeout)
    logs = kubectl("logs", "-n", namespace, name).stdout
    assert phase == "Succeeded", f"pod {name} {phase}:\n{logs}"
    return logs


@pytest.fixture(scope="module")
def replica() -> Iterator[None]:
    _gate()
    up = subprocess.run(
        [sys.executable, "-m", "streamforge.cli", "up", "--env", "local"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    assert up.returncode == 0, f"streamforge up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
    yield


@pytest.fixture
def namespace(replica: None) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    assert kubectl("create", "namespace", name).returncode == 0
    yield name
    kubectl("delete", "namespace", name, "--wait=false")


def rendered_ingress_address() -> str:
    from streamforge import docker_host
    from streamforge.load import load_platform
    from streamforge.render import Facts
    from streamforge.render.context import addresses

    subnet = docker_host.kind_subnet()
    facts = Facts(**({"kind_subnet": subnet} if subnet else {}))
    return addresses(load_platform(REPO, "local"), facts).ingress_address


def test_traefik_gets_its_address_from_metallb(replica: None) -> None:
    def address() -> str:
        return kubectl(
            "get",
            "svc",
            "-n",
            "traefik",
            "traefik",
            "-o",
            "jsonpath={.status.loadBalancer.ingress[0].ip}",
        ).stdout

    assert wait_for("Traefik's LoadBalancer address", address) == rendered_ingress_address()


def exported_ca(tmp: Path) -> Path:
    """The replica's root CA as a user exports it (docs/platform/dns-and-tls.md)."""
    out = kubectl(
        "get", "secret", "-n", "cert-manager", "homelab-ca", "-o", "jsonpath={.data.ca\\.crt}"
    )
    assert out.returncode == 0 and out.stdout, out.stderr
    path = tmp / "streamforge-ca.crt"
    path.write_bytes(base64.b64decode(out.stdout))
    return path


def https_get(host: str, ca: Path, address: str = "127.0.0.1", port: int = 443) -> tuple[int, str]:
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection((address, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    return int(head.split()[1]), body


def test_https_route_is_trusted_with_the_exported_ca(namespace: str, tmp_path: Path) -> None:
    host = f"{namespace}.dmz.home"
    labels = {"app": "whoami"}
    apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "whoami", "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {"name": "whoami", "image": WHOAMI, "ports": [{"containerPort": 80}]}
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "whoami", "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "whoami", "namespace": namespace},
            "spec": {
                "parentRefs": [
                    {"name": "streamforge", "namespace": "traefik", "sectionName": "websecure"}
                ],
                "hostnames": [host],
                "rules": [{"backendRefs": [{"name": "whoami", "port": 80}]}],
            },
        },
    )
    ca = exported_ca(tmp_path)

    def answer() -> str | None:
        try:
            status, body = https_get(host, ca)  # kind's host port 443 -> Traefik's hostPort
        except (OSError, ssl.SSLError):
            return None
        return body if status == 200 else None

    assert "Hostname: whoami" in wait_for(f"https://{host}", answer, timeout=180)
    # inside the cluster the same name resolves to Traefik (dns-replica's CoreDNS rewrite)
    traefik_ip = kubectl(
        "get", "svc", "-n", "traefik", "traefik", "-o", "jsonpath={.spec.clusterIP}"
    ).stdout
    logs = run_pod(
        namespace,
        "nslookup",
        {"containers": [{"name": "dns", "image": BUSYBOX, "command": ["nslookup", host]}]},
    )
    assert traefik_ip in logs


def test_kafka_produce_and_consume_as_a_scram_user(namespace: str) -> None:
    user, topic = f"{namespace}-user", f"{namespace}.events"
    apply(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {
                "name": topic.replace(".", "-"),
                "namespace": "kafka",
                "labels": {"strimzi.io/cluster": "k3"},
            },
            "spec": {"topicName": topic, "partitions": 1, "replicas": 1},
        },
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaUser",
            "metadata": {
                "name": user,
                "namespace": "kafka",
                "labels": {"strimzi.io/cluster": "k3"},
            },
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {
                    "type": "simple",
                    "acls": [
                        {
                            "resource": {"type": "topic", "name": topic, "patternType": "literal"},
                            "operations": ["Describe", "Read", "Write"],
                        },
                        {
                            "resource": {
                                "type": "group",
                                "name": namespace,
                                "patternType": "literal",
                            },
                            "operations": ["Read"],
                        },
                    ],
                },
            },
        },
    )
    try:
        wait_for(
            "the user's Secret",
            lambda: kubectl("get", "secret", "-n", "kafka", user).returncode == 0,
        )
        # Brokers advertise their pod DNS names, which a port-forward from the host cannot reach,
        # so the client runs in the cluster, exactly like a service would.
        client = "--bootstrap-server k3-kafka-bootstrap:9093"
        props = "/tmp/client.properties"
        script = (
            "set -eu\n"
            f"cat > {props} <<EOF\n"
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
            "sasl.jaas.config=$JAAS\nssl.truststore.type=PEM\n"
            "ssl.truststore.location=/ca/ca.crt\nEOF\n"
            f"echo hello-{namespace} | bin/kafka-console-producer.sh {client} "
            f"--producer.config {props} --topic {topic}\n"
            f"bin/kafka-console-consumer.sh {client} --consumer.config {props} "
            f"--topic {topic} --group {namespace} --from-beginning --max-messages 1 "
            "--timeout-ms 60000\n"
        )
        logs = run_pod(
            "kafka",
            f"{namespace}-client",
            {
                "containers": [
                    {
                        "name": "client",
                        "image": KAFKA,
                        "command": ["/bin/bash", "-c", script],
                        "env": [
                            {
                                "name": "JAAS",
                                "valueFrom": {
                                    "secretKeyRef": {"name": user, "key": "sasl.jaas.config"}
                                },
                            }
                        ],
                        "volumeMounts": [{"name": "ca", "mountPath": "/ca"}],
                    }
                ],
                "volumes": [{"name": "ca", "secret": {"secretName": "k3-cluster-ca-cert"}}],
            },
        )
        assert f"hello-{namespace}" in logs
    finally:
        kubectl("delete", "pod", "-n", "kafka", f"{namespace}-client", "--wait=false")
        kubectl(
            "delete",
            "kafkauser,kafkatopic",
            "-n",
            "kafka",
            user,
            topic.replace(".", "-"),
            "--wait=false",
        )


def test_rwx_claim_is_shared_by_pods_on_two_nodes(namespace: str) -> None:
    from streamforge.load import HOMELAB_NODE_LABEL

    apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "shared", "namespace": namespace},
            "spec": {
                "storageClassName": "nfs-client",
                "accessModes": ["ReadWriteMany"],
                "resources": {"requests": {"storage": "16Mi"}},
            },
        }
    )

    def pod(node: str, command: str) -> dict[str, Any]:
        return {
            "nodeSelector": {HOMELAB_NODE_LABEL: node},
            "containers": [
                {
                    "name": "c",
                    "image": BUSYBOX,
                    "command": ["sh", "-c", command],
                    "volumeMounts": [{"name": "v", "mountPath": "/shared"}],
                }
            ],
            "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "shared"}}],
        }

    run_pod(namespace, "writer", pod("k2w-7", f"echo {namespace} > /shared/hello"))
    logs = run_pod(namespace, "reader", pod("k2w-9", "cat /shared/hello"))
    assert namespace in logs
    nodes = {
        kubectl("get", "pod", "-n", namespace, p, "-o", "jsonpath={.spec.nodeName}").stdout
        for p in ("writer", "reader")
    }
    assert len(nodes) == 2
