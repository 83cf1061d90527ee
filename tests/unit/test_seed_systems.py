"""The seed's data, observability and security systems (chapters 6-8, 10) as rendered for both
envs: what a user of the homelab or the replica would notice."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
import yaml

from streamforge.model.load import load_platform
from streamforge.render.context import Facts, Rendered
from streamforge.render.env import render
from streamforge.render.parity import parity_markdown
from tests.conftest import REPO


@cache
def rendered(env: str) -> Rendered:
    return render(load_platform(REPO, env, "full"), Facts())


def find(env: str, component: str, kind: str, name: str) -> dict[str, Any]:
    (obj,) = [
        o
        for o in rendered(env).objects[component]
        if o["kind"] == kind and o["metadata"]["name"] == name
    ]
    return obj


@pytest.mark.parametrize(("env", "instances"), [("homelab", 3), ("local", 1)])
def test_postgres_cluster_has_the_seeds_databases(env: str, instances: int) -> None:
    pg = find(env, "postgres-operator", "postgresql", "streamforge-postgres")["spec"]
    assert {"roi", "agent_actions", "experiments"} <= set(pg["databases"])
    assert set(pg["databases"].values()) <= set(pg["users"])
    assert pg["numberOfInstances"] == instances
    assert pg["volume"]["storageClass"] == "linstor"
    assert pg["enableLogicalBackup"] is (env == "homelab")


def test_postgres_backups_go_to_the_minio_tenants_backup_bucket() -> None:
    backup = rendered("homelab").values["postgres-operator"]["configLogicalBackup"]
    tenant = rendered("homelab").values["minio-tenant"]["tenant"]
    assert backup["logical_backup_s3_bucket"] in [b["name"] for b in tenant["buckets"]]
    assert backup["logical_backup_s3_endpoint"] == "http://minio.minio.svc"
    assert backup["logical_backup_cronjob_environment_secret"]  # keys referenced, not written


@pytest.mark.parametrize(("env", "mode"), [("homelab", "Cluster"), ("local", "Single")])
def test_arangodb_mode_and_bootstrap_schema(env: str, mode: str) -> None:
    spec = find(env, "arangodb", "ArangoDeployment", "streamforge-arangodb")["spec"]
    assert spec["mode"] == mode
    schema = json.loads(
        find(env, "arangodb", "ConfigMap", "arangodb-bootstrap")["data"]["schema.json"]
    )
    assert {"candles", "events"} <= set(schema["documents"])
    vertices = {v for e in schema["graph"]["edges"] for v in e["from"] + e["to"]}
    assert {"assets", "trades"} <= vertices


def test_replica_minio_stand_in_creates_the_tenants_buckets() -> None:
    tenant = rendered("homelab").values["minio-tenant"]["tenant"]
    job = find("local", "storage-replica", "Job", "minio-bucket")
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    for bucket in tenant["buckets"]:
        assert f"replica/{bucket['name']}" in script
    assert tenant["configSecret"]["existingSecret"] is True


def test_kibana_is_published_with_tls_at_kibana_dmz_home() -> None:
    route = find("homelab", "elastic-stack", "HTTPRoute", "kibana")
    assert route["spec"]["hostnames"] == ["kibana.dmz.home"]
    assert route["spec"]["parentRefs"][0]["sectionName"] == "websecure"  # the HTTPS listener
    kibana = rendered("homelab").values["elastic-stack"]["eck-kibana"]
    assert kibana["config"]["server.publicBaseUrl"] == "https://kibana.dmz.home"


def test_keycloak_realm_has_clients_whose_redirects_match_the_tools() -> None:
    cm = find("homelab", "keycloak", "ConfigMap", "keycloak-realm")
    realm = json.loads(cm["data"]["streamforge-realm.json"])
    clients = {c["clientId"]: c for c in realm["clients"]}
    assert set(clients) == {"grafana", "kibana", "argocd"}
    for client in clients.values():
        assert client["secret"].startswith("${")  # a placeholder, never the secret
    values = rendered("homelab").values
    oauth = values["kube-prometheus-stack"]["grafana"]["grafana.ini"]["auth.generic_oauth"]
    assert oauth["client_id"] == "grafana" and "client_secret" not in oauth
    assert clients["grafana"]["redirectUris"] == ["https://grafana.dmz.home/login/generic_oauth"]
    es = values["elastic-stack"]["eck-elasticsearch"]["nodeSets"][0]["config"]
    realm_cfg = es["xpack.security.authc.realms.oidc.keycloak"]
    assert realm_cfg["rp.client_id"] == "kibana"
    assert realm_cfg["rp.redirect_uri"] in clients["kibana"]["redirectUris"]
    assert realm_cfg["op.issuer"] == "https://keycloak.dmz.home/realms/streamforge"


def test_grafana_data_sources_and_alert_receivers() -> None:
    stack = rendered("homelab").values["kube-prometheus-stack"]
    types = {d["type"] for d in stack["grafana"]["additionalDataSources"]}
    assert types == {"elasticsearch", "grafana-postgresql-datasource"}
    config = stack["alertmanager"]["config"]
    receivers = {r["name"]: r for r in config["receivers"]}
    (email,) = receivers["email"]["email_configs"]
    (telegram,) = receivers["telegram"]["telegram_configs"]
    mounted = set(stack["alertmanager"]["alertmanagerSpec"]["secrets"])
    for path in (email["auth_password_file"], telegram["bot_token_file"]):
        assert path.split("/")[4] in mounted  # /etc/alertmanager/secrets/<secret>/<key>
    routed = {r["receiver"] for r in config["route"]["routes"]}
    assert {"email", "telegram"} <= routed
    # the replica has neither Keycloak nor the data sources' secrets
    local = rendered("local").values["kube-prometheus-stack"]
    assert "auth.generic_oauth" not in local["grafana"]["grafana.ini"]
    assert "config" not in local["alertmanager"]


def test_parity_page_gives_each_system_the_replicas_treatment() -> None:
    report = parity_markdown(REPO)
    rows = {
        line.split("|")[1].strip(): line
        for line in report.splitlines()
        if line.startswith("| ") and line.count("|") == 5
    }
    for name in ("minio-tenant", "minio-operator"):
        assert "stand-in `storage-replica`" in rows[name]
    for name in ("elastic-stack", "fluent-bit", "vault", "keycloak", "eck-operator"):
        assert "left out: " in rows[name]
    for name in ("postgres-operator", "arangodb"):
        assert "runs in profile `full`" in rows[name]


def test_vault_option_of_the_service_chart_is_off_for_dummy_service() -> None:
    values = yaml.safe_load(rendered("homelab").files["values/services/dummy-service.yaml"])
    assert values["vault"]["enabled"] is False
    assert values["vault"]["secrets"][0]["path"] == "secret/data/dummy-service"
