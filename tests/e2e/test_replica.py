"""e2e: what a developer relies on once `up` has brought the replica up (tests/e2e/conftest.py):
nodes standing for the homelab's, images from the local registry and through the image cache,
Traefik's address from MetalLB, the docs site and a service through the Gateway over HTTP (and
HTTPS trusted with the exported CA), *.dmz.home inside pods, Kafka as a SCRAM user over TLS,
and the RWO and RWX storage classes.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from streamforge.execute import docker_host
from streamforge.model.load import HOMELAB_NODE_LABEL
from streamforge.model.pins import pins
from streamforge.model.schema.provider import KindProvider
from streamforge.render import image_refs
from tests.e2e.conftest import (
    apply,
    kubectl,
    needs,
    platform,
    run_pod,
    wait_for,
)


def image(key: str) -> str:
    return pins().test_images[key]


def provider() -> KindProvider:
    found = platform().env.provider
    assert isinstance(found, KindProvider)
    return found


def planned_ingress_address() -> str:
    from streamforge.render.context import Facts, addresses

    subnet = docker_host.kind_subnet()
    facts = Facts(kind_subnet=subnet) if subnet else Facts()
    return addresses(platform(), facts).ingress_address


def exchange(conn: socket.socket, host: str, path: str) -> tuple[int, list[str], str]:
    """GET `path` with `Host: host` over an open connection; (status, header lines, body)."""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    status_line, *headers = head.split("\r\n")
    return int(status_line.split()[1]), headers, body


def http_get(address: str, port: int, host: str, path: str = "/") -> tuple[int, list[str], str]:
    """One plain HTTP/1.1 request to address:port with `Host: host`."""
    with socket.create_connection((address, port), timeout=10) as conn:
        return exchange(conn, host, path)


def answers(address: str, port: int, host: str, path: str = "/") -> str | None:
    try:
        status, _, body = http_get(address, port, host, path)
    except OSError:
        return None
    return body if status == 200 else None


# -- nodes -------------------------------------------------------------------------------------
def test_every_node_is_ready_and_stands_for_its_homelab_node(replica: None) -> None:
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    ready = {
        n["metadata"]["name"]: any(
            c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]
        )
        for n in nodes
    }
    assert all(ready.values()), ready
    by_homelab = {
        n["metadata"]["labels"].get(HOMELAB_NODE_LABEL): n
        for n in nodes
        if HOMELAB_NODE_LABEL in n["metadata"]["labels"]
    }
    assert sorted(by_homelab) == sorted(provider().mirror_nodes)
    assert len(nodes) == len(provider().mirror_nodes) + 1  # and the control plane
    for name in provider().mirror_nodes:
        node = by_homelab[name]
        wanted = platform().node_labels(name)
        labels = node["metadata"]["labels"]
        assert {k: labels.get(k) for k in wanted} == wanted
        homelab = platform().env.node(name)
        assert homelab is not None
        taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints", [])}
        assert {(t.key, t.effect) for t in homelab.taints} <= taints
        if homelab.gpus:
            assert ("nvidia.com/gpu", "NoSchedule") in taints


# -- images ------------------------------------------------------------------------------------
def test_a_project_image_is_pulled_from_the_local_registry(replica: None) -> None:
    pods = json.loads(kubectl("get", "pods", "-n", "docs", "-o", "json").stdout)["items"]
    registry = platform().env.image_registry
    running = [
        status["image"]
        for pod in pods
        for status in pod["status"].get("containerStatuses", [])
        if status.get("ready")
    ]
    assert any(ref.startswith(f"{registry}/docs-site:") for ref in running), running


def test_an_upstream_image_is_pulled_through_the_image_cache(namespace: str) -> None:
    ref = image("busybox")  # preloaded in no node: only the cache can serve it here
    logs = run_pod(
        namespace,
        "pulled",
        {
            "containers": [
                {
                    "name": "c",
                    "image": ref,
                    "imagePullPolicy": "Always",
                    "command": ["echo", "pulled through the cache"],
                }
            ]
        },
    )
    assert "pulled through the cache" in logs
    url = f"http://127.0.0.1:{provider().registry_port}/v2/_catalog?n=1000"
    with urllib.request.urlopen(url, timeout=10) as response:
        catalog = json.load(response)["repositories"]
    assert "docker.io/library/busybox" in catalog


# -- the Gateway -------------------------------------------------------------------------------
def test_traefik_gets_its_planned_address_from_metallb(replica: None) -> None:
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

    assert wait_for("Traefik's LoadBalancer address", address) == planned_ingress_address()


@pytest.mark.parametrize("where", ["metallb-address", "host-port"])
def test_docs_site_answers_over_http_through_the_gateway(replica: None, where: str) -> None:
    host = f"docs.{platform().env.domain}"
    address, port = (
        (planned_ingress_address(), 80)
        if where == "metallb-address"
        else ("127.0.0.1", provider().http_port)
    )
    body = wait_for(f"http://{host} at {address}:{port}", lambda: answers(address, port, host))
    assert "StreamForge" in body and "</html>" in body


def test_a_service_answers_on_its_route(replica: None) -> None:
    name = "dummy-service"
    service = platform().services[name]
    host = f"{service.hostname}.{platform().env.domain}"
    body = wait_for(
        f"http://{host}/readyz",
        lambda: answers(planned_ingress_address(), 80, host, "/readyz"),
    )
    assert body.strip() == "ready"
    # the build that answers is the one `up` deployed (X-Service-Version: its image tag)
    _, headers, _ = http_get(planned_ingress_address(), 80, host, "/healthz")
    tag = image_refs.service_image(platform(), name).rpartition(":")[2]
    assert f"X-Service-Version: {tag}" in headers, headers


def test_docs_name_resolves_inside_a_pod_to_traefik(namespace: str) -> None:
    host = f"docs.{platform().env.domain}"
    traefik_ip = kubectl(
        "get", "svc", "-n", "traefik", "traefik", "-o", "jsonpath={.spec.clusterIP}"
    ).stdout
    logs = run_pod(
        namespace,
        "nslookup",
        {"containers": [{"name": "dns", "image": image("busybox"), "command": ["nslookup", host]}]},
    )
    assert traefik_ip and traefik_ip in logs


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
        status, _, body = exchange(tls, host, "/")
    return status, body


def test_https_route_is_trusted_with_the_exported_ca(namespace: str, tmp_path: Path) -> None:
    needs("cert-manager")
    host = f"{namespace}.{platform().env.domain}"
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
                            {
                                "name": "whoami",
                                "image": image("whoami"),
                                "ports": [{"containerPort": 80}],
                            }
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
            status, body = https_get(host, ca, port=provider().https_port)
        except (OSError, ssl.SSLError):
            return None
        return body if status == 200 else None

    assert "Hostname: whoami" in wait_for(f"https://{host}", answer, timeout=180)


# -- Kafka -------------------------------------------------------------------------------------
KAFKA_API = "kafka.strimzi.io/v1"


def kafka_topic(topic: str) -> dict[str, Any]:
    """A KafkaTopic of the replica's cluster `k3`, one partition and replica."""
    return {
        "apiVersion": KAFKA_API,
        "kind": "KafkaTopic",
        "metadata": {
            "name": topic.replace(".", "-"),
            "namespace": "kafka",
            "labels": {"strimzi.io/cluster": "k3"},
        },
        "spec": {"topicName": topic, "partitions": 1, "replicas": 1},
    }


def kafka_user(user: str, topic: str, group: str) -> dict[str, Any]:
    """A SCRAM-SHA-512 KafkaUser allowed to use `topic` and consumer group `group` only."""
    return {
        "apiVersion": KAFKA_API,
        "kind": "KafkaUser",
        "metadata": {"name": user, "namespace": "kafka", "labels": {"strimzi.io/cluster": "k3"}},
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
                        "resource": {"type": "group", "name": group, "patternType": "literal"},
                        "operations": ["Read"],
                    },
                ],
            },
        },
    }


def kafka_client_pod(user: str, topic: str, group: str, message: str) -> dict[str, Any]:
    """A pod spec that produces `message` to `topic` over SASL_SSL as `user` (its password from
    the user's Secret, the cluster CA from Strimzi's Secret), then consumes one message."""
    client = "--bootstrap-server k3-kafka-bootstrap:9093"
    props = "/tmp/client.properties"
    script = (
        "set -eu\n"
        f"cat > {props} <<EOF\n"
        "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=$JAAS\nssl.truststore.type=PEM\n"
        "ssl.truststore.location=/ca/ca.crt\nEOF\n"
        f"echo {message} | bin/kafka-console-producer.sh {client} "
        f"--producer.config {props} --topic {topic}\n"
        f"bin/kafka-console-consumer.sh {client} --consumer.config {props} "
        f"--topic {topic} --group {group} --from-beginning --max-messages 1 "
        "--timeout-ms 60000\n"
    )
    jaas = {"secretKeyRef": {"name": user, "key": "sasl.jaas.config"}}
    return {
        "containers": [
            {
                "name": "client",
                "image": image("kafka_client"),
                "command": ["/bin/bash", "-c", script],
                "env": [{"name": "JAAS", "valueFrom": jaas}],
                "volumeMounts": [{"name": "ca", "mountPath": "/ca"}],
            }
        ],
        "volumes": [{"name": "ca", "secret": {"secretName": "k3-cluster-ca-cert"}}],
    }


def test_kafka_produce_and_consume_as_a_scram_user(namespace: str) -> None:
    needs("strimzi")
    user, topic = f"{namespace}-user", f"{namespace}.events"
    apply(kafka_topic(topic), kafka_user(user, topic, group=namespace))
    try:
        wait_for(
            "the user's Secret",
            lambda: kubectl("get", "secret", "-n", "kafka", user).returncode == 0,
        )
        # Brokers advertise their pod DNS names, which a port-forward from the host cannot reach,
        # so the client runs in the cluster, exactly like a service would.
        message = f"hello-{namespace}"
        pod = kafka_client_pod(user, topic, group=namespace, message=message)
        logs = run_pod("kafka", f"{namespace}-client", pod)
        assert message in logs
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


# -- storage -----------------------------------------------------------------------------------
def claim(name: str, storage_class: str, mode: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {
            "storageClassName": storage_class,
            "accessModes": [mode],
            "resources": {"requests": {"storage": "16Mi"}},
        },
    }


def volume_pod(node: str, command: str, claim_name: str) -> dict[str, Any]:
    return {
        "nodeSelector": {HOMELAB_NODE_LABEL: node},
        "containers": [
            {
                "name": "c",
                "image": image("busybox"),
                "command": ["sh", "-c", command],
                "volumeMounts": [{"name": "v", "mountPath": "/data"}],
            }
        ],
        "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim_name}}],
    }


def test_rwo_claim_of_the_linstor_class_binds(namespace: str) -> None:
    storage = platform().env.storage
    rwo = claim("block", storage.rwo_class, "ReadWriteOnce")
    rwo["metadata"]["namespace"] = namespace
    apply(rwo)
    node = provider().mirror_nodes[0]
    run_pod(namespace, "rwo", volume_pod(node, "echo kept > /data/f && cat /data/f", "block"))
    phase = kubectl("get", "pvc", "-n", namespace, "block", "-o", "jsonpath={.status.phase}")
    assert phase.stdout == "Bound"


def test_rwx_claim_is_shared_by_pods_on_two_nodes(namespace: str) -> None:
    shared = claim("shared", platform().env.storage.rwx_class, "ReadWriteMany")
    shared["metadata"]["namespace"] = namespace
    apply(shared)
    first, second = provider().mirror_nodes[0], provider().mirror_nodes[-1]
    run_pod(namespace, "writer", volume_pod(first, f"echo {namespace} > /data/hello", "shared"))
    logs = run_pod(namespace, "reader", volume_pod(second, "cat /data/hello", "shared"))
    assert namespace in logs
    nodes = {
        kubectl("get", "pod", "-n", namespace, p, "-o", "jsonpath={.spec.nodeName}").stdout
        for p in ("writer", "reader")
    }
    assert len(nodes) == 2
