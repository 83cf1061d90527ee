"""The homelab's cluster lifecycle rendered from the model (seed 5.1-5.5): the Kubespray
inventory as Ansible itself reads it, kube-vip's settings, and the DNS records as a zone file and
as Technitium API calls."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from ruamel.yaml import YAML

from streamforge.model.load import HOMELAB_NODE_LABEL, load_platform
from streamforge.render.context import Facts, Rendered
from streamforge.render.env import render
from streamforge.render.output import write
from tests.conftest import REPO, missing


@cache
def homelab() -> Rendered:
    return render(load_platform(REPO, "homelab"), Facts())


@pytest.fixture(scope="module")
def rendered_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("homelab") / "rendered"
    write(homelab(), out)
    return out


def ansible_inventory(inventory: Path) -> dict:
    tool = Path(sys.executable).with_name("ansible-inventory")
    if not tool.is_file():
        missing("ansible-inventory is not installed (pip install -e '.[test]')")
    result = subprocess.run(
        [str(tool), "--list", "-i", str(inventory)],
        capture_output=True,
        text=True,
        check=False,
        cwd=inventory.parent,  # no ansible.cfg of the working directory leaks in
        env={
            **os.environ,
            "ANSIBLE_HOME": str(inventory.parent / ".ansible"),
            # the YAML inventory plugin only, and a file it cannot parse is an error
            "ANSIBLE_INVENTORY_ENABLED": "yaml",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        },
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_ansible_reads_the_inventory_with_kubesprays_groups(rendered_dir: Path) -> None:
    inventory = ansible_inventory(rendered_dir / "kubespray/inventory/hosts.yaml")
    platform = load_platform(REPO, "homelab")
    control = {n.name for n in platform.env.nodes if n.role == "control-plane"}
    workers = {n.name for n in platform.env.nodes if n.role == "worker"}
    assert set(inventory["kube_control_plane"]["hosts"]) == control == {"k2m-1", "k2m-2", "k2m-3"}
    assert set(inventory["etcd"]["hosts"]) == control
    assert set(inventory["kube_node"]["hosts"]) == workers
    assert set(inventory["k8s_cluster"]["children"]) == {"kube_control_plane", "kube_node"}
    hostvars = inventory["_meta"]["hostvars"]
    # group_vars/k8s_cluster/ beside the inventory reaches every host
    for name in control | workers:
        assert hostvars[name]["kube_vip_address"] == "192.168.1.140"
        assert hostvars[name]["kube_version"] == "1.36.1"
        assert hostvars[name]["container_manager"] == "containerd"
        assert hostvars[name]["node_labels"][HOMELAB_NODE_LABEL] == name
    assert hostvars["k2w-8"]["node_taints"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert hostvars["k2w-9"]["node_labels"]["streamforge.io/pool"] == "ci"


def test_kube_vip_serves_the_api_on_the_vip_and_leaves_services_to_metallb(
    rendered_dir: Path,
) -> None:
    hostvars = ansible_inventory(rendered_dir / "kubespray/inventory/hosts.yaml")["_meta"][
        "hostvars"
    ]["k2m-1"]
    assert hostvars["kube_vip_enabled"] and hostvars["kube_vip_controlplane_enabled"]
    assert hostvars["kube_vip_services_enabled"] is False
    assert hostvars["loadbalancer_apiserver"] == {"address": "192.168.1.140", "port": 6443}
    assert hostvars["apiserver_loadbalancer_domain_name"] == "k8s-api.dmz.home"
    assert "k8s-api.dmz.home" in hostvars["supplementary_addresses_in_ssl_keys"]
    assert hostvars["kube_proxy_strict_arp"] is True


def test_zone_file_has_the_wildcard_and_the_named_exceptions() -> None:
    zone = homelab().files["dns/dmz.home.zone"]
    records = {line.split()[0]: line.split()[-1] for line in zone.splitlines() if " IN  A " in line}
    assert records == {"*": "192.168.1.153", "k8s-api": "192.168.1.140", "nfs": "192.168.1.6"}
    assert "$ORIGIN dmz.home." in zone


class _Technitium(BaseHTTPRequestHandler):
    """Records the API calls. A stand-in: Technitium DNS Server (a .NET service shipped as a
    container image) cannot run here; the script itself, curl and the HTTP requests are real."""

    calls: list[tuple[str, dict[str, str]]] = []  # noqa: RUF012
    zone_exists = False

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        type(self).calls.append((self.path, form))
        body: dict[str, Any]
        if form.get("token") != "t0ken":
            body = {"status": "invalid-token", "errorMessage": "Invalid token or session expired."}
        elif self.path == "/api/zones/create" and type(self).zone_exists:
            body = {"status": "error", "errorMessage": "Zone already exists: dmz.home"}
        else:
            type(self).zone_exists = True
            body = {"status": "ok", "response": {}}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def technitium() -> Iterator[str]:
    if shutil.which("curl") is None:
        missing("curl is not installed")
    _Technitium.calls = []
    _Technitium.zone_exists = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Technitium)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _run_script(rendered_dir: Path, url: str, token: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(rendered_dir / "dns/technitium.sh")],
        env={"PATH": os.environ["PATH"], "TECHNITIUM_URL": url, "TECHNITIUM_TOKEN": token},
        capture_output=True,
        text=True,
        check=False,
    )


def test_technitium_script_sets_every_record_and_is_idempotent(
    rendered_dir: Path, technitium: str
) -> None:
    first = _run_script(rendered_dir, technitium, "t0ken")
    assert first.returncode == 0, first.stderr
    assert "created zone dmz.home" in first.stdout
    second = _run_script(rendered_dir, technitium, "t0ken")
    assert second.returncode == 0, second.stderr
    adds = [form for path, form in _Technitium.calls if path == "/api/zones/records/add"]
    assert len(adds) == 6
    assert {(a["domain"], a["ipAddress"]) for a in adds} == {
        ("*.dmz.home", "192.168.1.153"),
        ("k8s-api.dmz.home", "192.168.1.140"),
        ("nfs.dmz.home", "192.168.1.6"),
    }
    assert all(a["overwrite"] == "true" and a["zone"] == "dmz.home" for a in adds)


def test_technitium_script_stops_on_a_refused_call(rendered_dir: Path, technitium: str) -> None:
    result = _run_script(rendered_dir, technitium, "wrong")
    assert result.returncode != 0
    assert "invalid-token" in result.stderr


def test_technitium_script_needs_its_server_and_token(rendered_dir: Path) -> None:
    result = subprocess.run(
        ["bash", str(rendered_dir / "dns/technitium.sh")],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "TECHNITIUM_URL" in result.stderr


def test_technitium_script_passes_shellcheck(rendered_dir: Path) -> None:
    if shutil.which("shellcheck") is None:
        missing("shellcheck is not installed")
    result = subprocess.run(
        ["shellcheck", str(rendered_dir / "dns/technitium.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


LIFECYCLE = {"argocd", "piraeus", "gitlab-runner", "config-sync", "mail-relay"}


@pytest.mark.parametrize("profile", ["minimal", "default", "full"])
def test_lifecycle_components_run_only_in_the_homelab(profile: str) -> None:
    # the replica cannot pull their images, and stands in for them otherwise (parity page)
    assert not LIFECYCLE & set(load_platform(REPO, "local", profile).enabled)
    assert set(load_platform(REPO, "homelab").enabled) >= LIFECYCLE


def test_root_app_of_apps_bootstraps_every_application_from_iac_kubeadm() -> None:
    import yaml

    files = homelab().files
    root = yaml.safe_load(files["bootstrap/root-app.yaml"])
    source = root["spec"]["source"]
    assert source["repoURL"] == "https://gitlab.dmz.home/platform/iac_kubeadm.git"
    assert source["path"] == "rendered/homelab/argocd" and source["directory"]["recurse"]
    # everything it picks up: one Application per enabled component, ArgoCD's own included
    apps = {
        yaml.safe_load(t)["metadata"]["name"] for p, t in files.items() if p.startswith("argocd/")
    }
    assert apps >= LIFECYCLE
    argocd = yaml.safe_load(
        next(t for p, t in files.items() if p.startswith("argocd/") and p.endswith("-argocd.yaml"))
    )
    (chart,) = [s for s in argocd["spec"]["sources"] if "chart" in s]
    assert chart["chart"] == "argo-cd" and chart["targetRevision"] == "9.0.5"


def test_linstor_class_is_replicated_rwo_under_the_production_name() -> None:
    objects = homelab().objects["piraeus"]
    (cls,) = [o for o in objects if o["kind"] == "StorageClass"]
    assert cls["metadata"]["name"] == "linstor"
    assert cls["provisioner"] == "linstor.csi.linbit.com"
    assert int(cls["parameters"]["linstor.csi.linbit.com/placementCount"]) >= 2
    assert [o["kind"] for o in objects].count("LinstorCluster") == 1


def test_argocd_sso_follows_the_keycloak_component(model_copy: Path) -> None:
    keycloak = model_copy / "platform/components/keycloak"
    if not keycloak.is_dir():  # a stand-in until the real component exists
        keycloak.mkdir()
        (keycloak / "component.yaml").write_text(
            "name: keycloak\ndescription: Keycloak\nnamespace: keycloak\nruns_in: [production]\n"
        )
    env = model_copy / "envs/homelab.yaml"
    yaml = YAML(typ="rt")
    data = yaml.load(env.read_text())

    # components that need Keycloak, directly or not, go off with it
    needs = {
        p.parent.name: set(re.findall(r"[a-z0-9-]+", m.group(1)))
        for p in (model_copy / "platform/components").glob("*/component.yaml")
        if (m := re.search(r"^depends_on: *\[(.*)\]", p.read_text(), re.M))
    }
    dependents: set[str] = set()
    while (
        grown := {c for c, deps in needs.items() if deps & (dependents | {"keycloak"})} - dependents
    ):
        dependents |= grown

    def cm(enabled: bool) -> dict:
        data.setdefault("components", {})["keycloak"] = {"enabled": enabled}
        for name in dependents:
            data["components"][name] = {"enabled": enabled}
        with env.open("w") as stream:
            yaml.dump(data, stream)
        out = render(load_platform(model_copy, "homelab"), Facts())
        return out.values["argocd"]["configs"]["cm"]

    assert "oidc.config" not in cm(False)
    oidc = cm(True)["oidc.config"]
    assert "issuer: https://keycloak.dmz.home/realms/" in oidc
    assert "clientSecret: $oidc.keycloak.clientSecret" in oidc
