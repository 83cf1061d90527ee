"""The platform's components rendered for both envs and every profile: what a user of the
replica or of the homelab would notice (addresses, classes, issuer, Kafka, routes, apps)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from streamforge.model.images import parse
from streamforge.model.load import HOMELAB_NODE_LABEL, load_platform
from streamforge.render.context import Facts, Rendered, addresses
from streamforge.render.env import render
from streamforge.render.kind import RWX_NODE_PATH
from streamforge.validate.objects import ObjectChecker, is_builtin_group, pick_k8s_version
from tests.conftest import REPO, missing

SCHEMAS = REPO.parent / "shared" / "schemas"  # crds/<group>/<kind>_<version>.json
if not SCHEMAS.is_dir():
    SCHEMAS = Path("/work/shared/schemas")

MINIMAL = {"metallb", "traefik", "cert-manager", "strimzi"}
REPLICA_MINIMAL = MINIMAL | {"storage-replica", "dns-replica", "fake-gpu"}
HOMELAB_MINIMAL = MINIMAL | {"nfs-provisioner", "gpu-operator"}
DEFAULT_ADDS = {"ingress-nginx", "kafka-ui", "reloader"}
FULL_ADDS = {"kube-prometheus-stack", "keda", "postgres-operator", "arangodb"}
# the seed's data, observability and security systems that only production runs
HOMELAB_FULL_ADDS = {
    "minio-operator",
    "minio-tenant",
    "eck-operator",
    "elastic-stack",
    "fluent-bit",
    "vault",
    "secrets-store-csi-driver",
    "keycloak",
}


@cache
def rendered(env: str, profile: str = "default") -> Rendered:
    return render(load_platform(REPO, env, profile), Facts())


def objects(env: str, profile: str = "default") -> list[dict[str, Any]]:
    return [o for objs in rendered(env, profile).objects.values() for o in objs]


def find(env: str, kind: str, name: str, profile: str = "default") -> dict[str, Any]:
    found = [
        o for o in objects(env, profile) if o["kind"] == kind and o["metadata"]["name"] == name
    ]
    assert len(found) == 1, f"{env}: expected one {kind} {name}, found {len(found)}"
    return found[0]


# -- profiles ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("profile", "replica", "homelab"),
    [
        ("minimal", REPLICA_MINIMAL, HOMELAB_MINIMAL),
        ("default", REPLICA_MINIMAL | DEFAULT_ADDS, HOMELAB_MINIMAL | DEFAULT_ADDS),
        (
            "full",
            REPLICA_MINIMAL | DEFAULT_ADDS | FULL_ADDS,
            HOMELAB_MINIMAL | DEFAULT_ADDS | FULL_ADDS | HOMELAB_FULL_ADDS,
        ),
    ],
)
def test_profiles_enable_the_documented_components(
    profile: str, replica: set[str], homelab: set[str]
) -> None:
    # only the components described here (others, such as the docs site, have their own tests)
    known = REPLICA_MINIMAL | HOMELAB_MINIMAL | DEFAULT_ADDS | FULL_ADDS | HOMELAB_FULL_ADDS
    assert set(load_platform(REPO, "local", profile).enabled) & known == replica
    assert set(load_platform(REPO, "homelab", profile).enabled) & known == homelab


@pytest.mark.parametrize("profile", ["minimal", "default", "full"])
def test_homelab_has_an_argocd_application_per_enabled_component(profile: str) -> None:
    platform = load_platform(REPO, "homelab", profile)
    out = rendered("homelab", profile)
    apps = [
        yaml.safe_load(t)
        for p, t in out.files.items()
        if p.startswith("argocd/") and not p.startswith("argocd/services/")
    ]
    assert {a["metadata"]["name"] for a in apps} == set(platform.enabled)
    for app in apps:
        assert app["kind"] == "Application"
        comp = platform.components[app["metadata"]["name"]]
        charts = [s for s in app["spec"]["sources"] if "helm" in s]
        if comp.chart:
            assert charts[0]["targetRevision"] == comp.chart.version
            assert charts[0]["helm"]["valuesObject"] == out.values[comp.name]


def test_homelab_deploys_every_service_with_the_common_chart_after_the_components() -> None:
    platform = load_platform(REPO, "homelab", "default")
    files = rendered("homelab").files
    assert platform.services
    for name in platform.services:
        app = yaml.safe_load(files[f"argocd/services/{name}.yaml"])
        (source,) = app["spec"]["sources"]
        assert source["path"] == "platform/charts/service"
        values = source["helm"]["valuesObject"]
        assert values["image"]["repository"] == f"{platform.env.image_registry}/{name}"
        assert values["route"]["domain"] == "dmz.home"
        wave = int(app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        assert wave > len(platform.enabled)


def test_replica_renders_kind_config_and_no_argocd() -> None:
    files = rendered("local").files
    assert "kind-config.yaml" in files
    assert not any(p.startswith("argocd/") for p in files)


# -- network ------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ["local", "homelab"])
def test_metallb_pool_is_the_env_pool_with_l2(env: str) -> None:
    net = addresses(load_platform(REPO, env), Facts())
    pool = find(env, "IPAddressPool", "streamforge")
    assert pool["spec"]["addresses"] == [net.lb_pool]
    l2 = find(env, "L2Advertisement", "streamforge")
    assert l2["spec"]["ipAddressPools"] == ["streamforge"]
    assert rendered(env).values["metallb"]["speaker"]["frr"]["enabled"] is False


def test_homelab_addresses_are_production_ones() -> None:
    values = rendered("homelab").values
    annotation = "metallb.io/loadBalancerIPs"
    assert values["traefik"]["service"]["annotations"][annotation] == "192.168.1.153"
    nginx = values["ingress-nginx"]["controller"]
    assert nginx["service"]["annotations"][annotation] == "192.168.1.154"
    assert find("homelab", "IPAddressPool", "streamforge")["spec"]["addresses"] == [
        "192.168.1.150-192.168.1.169"
    ]


def test_replica_addresses_come_from_the_kind_subnet() -> None:
    net = addresses(load_platform(REPO, "local"), Facts(kind_subnet="172.19.0.0/16"))
    out = render(load_platform(REPO, "local"), Facts(kind_subnet="172.19.0.0/16"))
    annotation = out.values["traefik"]["service"]["annotations"]["metallb.io/loadBalancerIPs"]
    assert annotation == net.ingress_address
    assert annotation.startswith("172.19.")
    nginx = out.values["ingress-nginx"]["controller"]["service"]["annotations"]
    assert nginx["metallb.io/loadBalancerIPs"] == net.backup_ingress_address != annotation


# -- ingress, TLS, DNS ------------------------------------------------------------------------
@pytest.mark.parametrize("env", ["local", "homelab"])
def test_traefik_gateway_has_http_and_https_listeners_with_the_wildcard(env: str) -> None:
    values = rendered(env).values["traefik"]
    assert values["providers"]["kubernetesGateway"]["enabled"] is True
    listeners = values["gateway"]["listeners"]
    assert listeners["web"]["protocol"] == "HTTP"
    https = listeners["websecure"]
    assert https["protocol"] == "HTTPS" and https["hostname"] == "*.dmz.home"
    # the chart requires listener ports to be declared entrypoint ports
    assert {listeners["web"]["port"], https["port"]} == {8000, 8443}
    secret = https["certificateRefs"][0]["name"]
    cert = find(env, "Certificate", "wildcard-dmz-home")
    assert cert["spec"]["secretName"] == secret
    assert cert["spec"]["dnsNames"][0] == "*.dmz.home"
    assert cert["spec"]["issuerRef"]["name"] == "homelab-ca-issuer"


@pytest.mark.parametrize("env", ["local", "homelab"])
def test_traefik_dashboard_tcp_entrypoints_and_acme_storage(env: str) -> None:
    values = rendered(env).values["traefik"]
    dashboard = values["ingressRoute"]["dashboard"]
    assert dashboard["enabled"] and "/dashboard" in dashboard["matchRule"]
    assert values["ports"]["kafka"]["exposedPort"] == 9094
    assert values["ports"]["ssh"]["exposedPort"] == 22
    persistence = values["persistence"]
    assert persistence["size"] == "1Gi" and persistence["storageClass"] == "nfs-client"
    # ACME storage on NFS in production; the replica has no ACME resolver to feed
    assert persistence["enabled"] is (env == "homelab")


def test_ingress_nginx_has_its_own_class() -> None:
    controller = rendered("local").values["ingress-nginx"]["controller"]
    assert controller["ingressClassResource"]["name"] == "nginx"
    assert controller["ingressClassResource"]["default"] is False


@pytest.mark.parametrize("env", ["local", "homelab"])
def test_cluster_issuer_has_the_production_name(env: str) -> None:
    issuer = find(env, "ClusterIssuer", "homelab-ca-issuer")
    assert issuer["spec"]["ca"]["secretName"] == "homelab-ca"


def test_only_the_replica_makes_its_own_ca() -> None:
    ca = find("local", "Certificate", "homelab-ca")
    assert ca["spec"]["isCA"] is True and ca["spec"]["secretName"] == "homelab-ca"
    assert not [o for o in objects("homelab") if o["metadata"]["name"] == "homelab-ca"]


def test_replica_pods_resolve_the_domain_to_traefik() -> None:
    corefile = find("local", "ConfigMap", "coredns")["data"]["Corefile"]
    rule = next(line.split() for line in corefile.splitlines() if "rewrite name regex" in line)
    assert re.fullmatch(rule[3], "kafka-ui.dmz.home.")
    assert not re.fullmatch(rule[3], "kafka-ui.dmz.home.example.com.")
    assert rule[4] == "traefik.traefik.svc.cluster.local."
    for plugin in ("kubernetes cluster.local", "forward . /etc/resolv.conf", "reload"):
        assert plugin in corefile
    assert "dns-replica" not in load_platform(REPO, "homelab").enabled


def test_replica_dns_and_technitium_records_come_from_one_list() -> None:
    """Every record the homelab's zone has, the replica rewrites to the Service standing for
    the same address (or the record is one with a fixed LAN address, which it cannot serve)."""
    corefile = find("local", "ConfigMap", "coredns")["data"]["Corefile"]
    rules = [line.split() for line in corefile.splitlines() if "rewrite name" in line]
    zone = rendered("homelab").files["dns/dmz.home.zone"]
    names = [line.split()[0] for line in zone.splitlines() if " IN " in line]
    env = load_platform(REPO, "homelab").env
    assert len(names) == len(env.dns.records)
    fixed = {r.name for r in env.dns.records if r.address}
    api = next(r for r in rules if r[2] == "exact")
    assert api[3] == "k8s-api.dmz.home." and api[4] == "kubernetes.default.svc.cluster.local."
    assert "k8s-api" in names and "*" in names
    assert len(rules) == len(env.dns.records) - len(fixed)
    # the wildcard rule must come last: the rewrite plugin stops at the first match
    assert rules[-1][2] == "regex"


# -- storage --------------------------------------------------------------------------------
def test_replica_storage_classes_keep_production_names() -> None:
    rwo = find("local", "StorageClass", "linstor")
    assert rwo["provisioner"] == "rancher.io/local-path"
    rwx = find("local", "StorageClass", "nfs-client")
    config = json.loads(find("local", "ConfigMap", "rwx-local-path-config")["data"]["config.json"])
    assert config == {"sharedFileSystemPath": RWX_NODE_PATH}
    deployment = find("local", "Deployment", "rwx-local-path-provisioner")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"--provisioner-name={rwx['provisioner']}" in args


def test_kind_mounts_the_rwx_folder_into_every_node() -> None:
    kind = yaml.safe_load(rendered("local").files["kind-config.yaml"])
    for node in kind["nodes"]:
        assert RWX_NODE_PATH in [m["containerPath"] for m in node["extraMounts"]]


def test_replica_minio_has_the_model_bucket_and_no_credentials_in_the_repo() -> None:
    assert find("local", "Service", "minio")["spec"]["ports"][0]["port"] == 9000
    bucket_job = find("local", "Job", "minio-bucket")
    script = bucket_job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "replica/models" in script and "http://minio.storage.svc:9000" in script
    assert not [o for o in objects("local") if o["kind"] == "Secret"]


def test_homelab_nfs_provisioner_uses_the_nas_export() -> None:
    values = rendered("homelab").values["nfs-provisioner"]
    assert values["nfs"] == {"server": "192.168.1.6", "path": "/data0/k2"}
    assert values["storageClass"]["name"] == "nfs-client"
    # the chart reads storageClass.accessModes only for the static PV it renders with
    # nfs.mountOptions; set without it, the value would be silently ignored
    assert "accessModes" not in values["storageClass"] or values["nfs"].get("mountOptions")


# -- Kafka ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("env", "nodes"), [("local", 1), ("homelab", 3)])
def test_k3_is_kraft_with_a_scram_tls_listener(env: str, nodes: int) -> None:
    kafka = find(env, "Kafka", "k3")
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    pool = find(env, "KafkaNodePool", "dual-role")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "k3"
    assert pool["spec"]["roles"] == ["controller", "broker"]
    assert pool["spec"]["replicas"] == nodes
    assert kafka["spec"]["kafka"]["config"]["default.replication.factor"] == nodes
    assert rendered(env).values["strimzi"]["watchAnyNamespace"] is True


def test_kafka_ui_user_reads_only() -> None:
    user = find("local", "KafkaUser", "kafka-ui")
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    operations = {op for acl in user["spec"]["authorization"]["acls"] for op in acl["operations"]}
    assert operations <= {"Describe", "Read", "DescribeConfigs"}


@pytest.mark.parametrize("env", ["local", "homelab"])
def test_kafka_ui_connects_over_sasl_ssl_on_k2w_7(env: str) -> None:
    values = rendered(env).values["kafka-ui"]
    assert values["nodeSelector"] == {HOMELAB_NODE_LABEL: "k2w-7"}
    (cluster,) = values["yamlApplicationConfig"]["kafka"]["clusters"]
    assert cluster["name"] == "k3"
    assert cluster["bootstrapServers"] == "k3-kafka-bootstrap.kafka.svc:9093"
    assert cluster["properties"]["security.protocol"] == "SASL_SSL"
    assert cluster["properties"]["sasl.mechanism"] == "SCRAM-SHA-512"
    assert cluster["properties"]["ssl.truststore.type"] == "PEM"
    assert values["volumes"][0]["secret"]["secretName"] == "k3-cluster-ca-cert"


def test_the_k2w_7_label_exists_on_a_replica_node() -> None:
    kind = yaml.safe_load(rendered("local").files["kind-config.yaml"])
    labels = [n.get("labels", {}) for n in kind["nodes"]]
    assert {HOMELAB_NODE_LABEL: "k2w-7"}.items() <= next(
        lab for lab in labels if lab.get(HOMELAB_NODE_LABEL) == "k2w-7"
    ).items()


@pytest.mark.parametrize(
    ("profile", "route", "host"),
    [
        ("default", "kafka-ui", "kafka-ui.dmz.home"),
        ("full", "grafana", "grafana.dmz.home"),
        ("full", "prometheus", "prometheus.dmz.home"),
    ],
)
def test_routes_attach_to_both_gateway_listeners(profile: str, route: str, host: str) -> None:
    values = rendered("local", profile).values["traefik"]["gateway"]
    obj = find("local", "HTTPRoute", route, profile)
    (parent,) = obj["spec"]["parentRefs"]
    assert parent == {"name": values["name"], "namespace": "traefik"}  # no sectionName: all
    protocols = {listener["protocol"] for listener in values["listeners"].values()}
    assert protocols == {"HTTP", "HTTPS"}
    assert obj["spec"]["hostnames"] == [host]


# -- observability ----------------------------------------------------------------------------
@pytest.mark.parametrize(("env", "size"), [("local", "2Gi"), ("homelab", "20Gi")])
def test_prometheus_and_grafana_sizes(env: str, size: str) -> None:
    values = rendered(env, "full").values["kube-prometheus-stack"]
    spec = values["prometheus"]["prometheusSpec"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == size
    assert values["grafana"]["persistence"]["size"] == "1Gi"
    assert values["grafana"].get("adminPassword", "") == ""


def test_replica_monitoring_skips_kinds_localhost_targets() -> None:
    values = rendered("local", "full").values["kube-prometheus-stack"]
    for key in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[key]["enabled"] is False
    assert values["prometheus-node-exporter"]["hostRootFsMount"]["enabled"] is False


# -- hygiene ----------------------------------------------------------------------------------
SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(
        # a value, not a reference to one ($ENV_VAR that Grafana resolves from a Secret)
        r"(?im)^\s*(password|adminPassword|rootPassword|secretKey|token)\s*:\s*(?!''|\"\"|\$)\S+"
    ),
    re.compile(r"(?m)^kind:\s*Secret\s*$"),
]


@pytest.mark.parametrize("env", ["local", "homelab"])
def test_no_secret_material_in_any_rendered_file(env: str) -> None:
    for path, text in rendered(env, "full").files.items():
        for pattern in SECRET_PATTERNS:
            match = pattern.search(text)
            assert match is None, f"{env}:{path}: {match.group(0)!r}"


@pytest.mark.parametrize("env", ["local", "homelab"])
def test_every_image_in_our_manifests_is_pinned_by_tag(env: str) -> None:
    def images(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["image"]] if isinstance(node.get("image"), str) else []
            return found + [i for v in node.values() for i in images(v)]
        if isinstance(node, list):
            return [i for v in node for i in images(v)]
        return []

    for obj in objects(env, "full"):
        for image in images(obj):
            # the reference grammar `bom` and the image cache use; a tag other than latest
            assert parse(image).pinned, image
    helper = find("local", "ConfigMap", "rwx-local-path-config")["data"]["helperPod.yaml"]
    assert "busybox:1.37.0" in helper


@pytest.mark.parametrize("env", ["local", "homelab"])
def test_every_object_passes_the_projects_validator(env: str) -> None:
    """`streamforge validate`'s object checker over the full profile (the `validate` session
    checks each env's own profile): built-in kinds against the Kubernetes schemas, custom
    resources against the pinned CRD schemas, closed so a misspelt field fails."""
    if not (SCHEMAS / "crds").is_dir():
        missing(f"no CRD schemas at {SCHEMAS / 'crds'}")
    wanted = load_platform(REPO, env).env.kubernetes_version
    version = pick_k8s_version(wanted)
    assert version is not None, f"kubernetes-validate bundles no schema for {wanted}"
    checker = ObjectChecker(SCHEMAS, version)
    custom = 0
    for obj in objects(env, "full"):
        issues = checker.check(obj)
        assert not issues, f"{obj['kind']} {obj['metadata']['name']}: {issues}"
        custom += not is_builtin_group(obj["apiVersion"].rpartition("/")[0])
    assert custom >= 8  # Kafka, KafkaNodePool, Certificate, ClusterIssuer, IPAddressPool, ...
