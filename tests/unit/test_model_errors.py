"""Bad input to the model: each gives `file:line: problem; fix`, exit code 2, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from streamforge.commands.cli import main

Edit = Callable[[Path, str, str], None]


def render_fails(capsys: pytest.CaptureFixture[str], root: Path, env: str = "local") -> str:
    out = root / "out"
    code = main(["render", "--env", env, "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not out.exists(), "a failed render must write nothing"
    return err


def line_of(path: Path, snippet: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if snippet in line:
            return number
    raise AssertionError(f"{snippet!r} not in {path}")


def test_unknown_key_names_line_and_suggests(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "domain: dmz.home", "domian: dmz.home")
    err = render_fails(capsys, model_copy, "homelab")
    assert f"envs/homelab.yaml:{line_of(env, 'domian:')}: unknown key 'domian'" in err
    assert "did you mean 'domain'?" in err
    # the key it replaced is now missing as well
    assert "missing required key 'domain'" in err


def test_unknown_key_in_local_override_points_at_local_file(
    model_copy: Path, edit: Edit, capsys
) -> None:
    env = model_copy / "envs/local.yaml"
    edit(env, "  cluster_name: streamforge", "  cluster_nmae: streamforge")
    err = render_fails(capsys, model_copy)
    assert (
        f"envs/local.yaml:{line_of(env, 'cluster_nmae')}: unknown key "
        "'provider.cluster_nmae'" in err
    )
    assert "did you mean 'cluster_name'?" in err


def test_wrong_type(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "count: 1", "count: two")
    err = render_fails(capsys, model_copy, "homelab")
    assert f"envs/homelab.yaml:{line_of(env, 'count: two')}: nodes.5.gpus.count:" in err
    assert "'two'" in err


def test_dangling_dependency(model_copy: Path, edit: Edit, capsys) -> None:
    comp = model_copy / "platform/components/traefik/component.yaml"
    edit(comp, "depends_on: [metallb, cert-manager", "depends_on: [metallb, cert-manger")
    err = render_fails(capsys, model_copy)
    assert (
        f"component.yaml:{line_of(comp, 'depends_on')}: depends on unknown component "
        "'cert-manger'" in err
    )


def test_dependency_disabled_in_env(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/local.yaml"
    edit(env, "\n  metallb:\n", "\n  metallb:\n    enabled: false\n")
    err = render_fails(capsys, model_copy)
    assert (
        f"envs/local.yaml:{line_of(env, '  metallb:')}: 'ingress-nginx' depends on "
        "'metallb', which is not enabled" in err
    )
    assert "enable 'metallb' or disable 'ingress-nginx'" in err


def test_dependency_cycle(model_copy: Path, edit: Edit, capsys) -> None:
    comp = model_copy / "platform/components/metallb/component.yaml"
    edit(comp, "profile: minimal", "profile: minimal\ndepends_on: [traefik]")
    err = render_fails(capsys, model_copy)
    assert (
        "dependency cycle: metallb -> traefik -> metallb" in err
        or "dependency cycle: traefik -> metallb -> traefik" in err
    )


def test_duplicate_node(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "  - name: k2m-2", "  - name: k2m-1")
    err = render_fails(capsys, model_copy, "homelab")
    second = [n for n, line in enumerate(env.read_text().splitlines(), 1) if "name: k2m-1" in line][
        1
    ]
    assert f"envs/homelab.yaml:{second}: duplicate node 'k2m-1'" in err


def test_bad_cidr(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "lb_pool: 192.168.1.150-192.168.1.169", "lb_pool: 192.168.1.300/24")
    err = render_fails(capsys, model_copy, "homelab")
    assert f"envs/homelab.yaml:{line_of(env, 'lb_pool')}: network.lb_pool:" in err
    assert "neither a CIDR nor a range" in err


def test_ingress_address_outside_pool(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "ingress_address: 192.168.1.153", "ingress_address: 192.168.2.153")
    err = render_fails(capsys, model_copy, "homelab")
    assert (
        f"envs/homelab.yaml:{line_of(env, ' ingress_address')}: ingress_address "
        "192.168.2.153 lies outside lb_pool" in err
    )


def test_mirror_of_unknown_node(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/local.yaml"
    edit(env, "mirror_nodes: [k2w-7, k2w-8, k2w-9]", "mirror_nodes: [k2w-7, k2w-8, k2w-99]")
    err = render_fails(capsys, model_copy)
    assert (
        f"envs/local.yaml:{line_of(env, 'mirror_nodes')}: mirror_nodes names unknown node "
        "'k2w-99'" in err
    )


def test_restricted_label_on_mirrored_node(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "      streamforge.io/pool: tools", "      node-role.kubernetes.io/tools: 'true'")
    err = render_fails(capsys, model_copy)
    assert (
        f"envs/homelab.yaml:{line_of(env, 'node-role')}: label "
        "'node-role.kubernetes.io/tools'" in err
    )
    assert "use a streamforge.io/ label instead" in err


def test_unknown_component_in_env(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/local.yaml"
    edit(env, "\ncomponents:\n", "\ncomponents:\n  trafik:\n    values: {}\n")
    err = render_fails(capsys, model_copy)
    assert (
        f"envs/local.yaml:{line_of(env, 'trafik')}: unknown component 'trafik'; "
        "did you mean 'traefik'?" in err
    )


def test_yaml_syntax_error(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "domain: dmz.home", "domain: [dmz.home")
    err = render_fails(capsys, model_copy, "homelab")
    assert "envs/homelab.yaml:" in err and "not valid YAML" in err


def test_duplicate_key(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "domain: dmz.home", "domain: dmz.home\ndomain: lab.home")
    err = render_fails(capsys, model_copy, "homelab")
    assert f"envs/homelab.yaml:{line_of(env, 'lab.home')}: duplicate key" in err


def test_bad_kubernetes_version(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "kubernetes_version: v1.36.1", "kubernetes_version: v1.36")
    err = render_fails(capsys, model_copy, "homelab")
    assert (
        f"envs/homelab.yaml:{line_of(env, 'kubernetes_version')}: kubernetes_version: "
        "'v1.36' has the wrong form" in err
    )


def test_number_where_text_belongs_says_quote_it(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "kubernetes_version: v1.36.1", "kubernetes_version: 1.36")
    err = render_fails(capsys, model_copy, "homelab")
    assert (
        f"envs/homelab.yaml:{line_of(env, 'kubernetes_version')}: kubernetes_version: "
        "expected text, got 1.36; quote it" in err
    )


def test_unknown_provider_type(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/local.yaml"
    edit(env, "  type: kind", "  type: minikube")
    err = render_fails(capsys, model_copy)
    assert f"envs/local.yaml:{line_of(env, 'minikube')}:" in err
    assert "set type: to one of 'kind', 'existing'" in err


def test_component_name_differs_from_folder(model_copy: Path, edit: Edit, capsys) -> None:
    comp = model_copy / "platform/components/keda/component.yaml"
    edit(comp, "name: keda", "name: kedaa")
    err = render_fails(capsys, model_copy)
    assert "keda/component.yaml:1: name 'kedaa' differs from its folder 'keda'" in err


def test_component_pinned_to_node_the_replica_lacks(model_copy: Path, edit: Edit, capsys) -> None:
    comp = model_copy / "platform/components/kafka-ui/component.yaml"
    edit(comp, "node: k2w-7", "node: k2w-1")
    err = render_fails(capsys, model_copy)
    assert (
        f"kafka-ui/component.yaml:{line_of(comp, 'node: k2w-1')}: node 'k2w-1' is not a "
        "mirrored node of env 'local'" in err
    )


def test_unknown_env_lists_known_ones(model_copy: Path, capsys) -> None:
    err = render_fails(capsys, model_copy, "staging")
    assert "no env named 'staging'; use one of: ci, homelab, local" in err


def test_all_problems_reported_at_once(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "domain: dmz.home", "domian: dmz.home")
    edit(env, "count: 1", "count: -1")
    err = render_fails(capsys, model_copy, "homelab")
    assert len([line for line in err.splitlines() if "envs/homelab.yaml:" in line]) >= 3


def test_kube_vip_address_inside_the_metallb_pool(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "api_vip: 192.168.1.140", "api_vip: 192.168.1.160")
    err = render_fails(capsys, model_copy, "homelab")
    assert (
        f"envs/homelab.yaml:{line_of(env, 'api_vip:')}: api_vip 192.168.1.160 lies inside "
        "lb_pool 192.168.1.150-192.168.1.169" in err
    )
    assert "pick an address outside 192.168.1.150-192.168.1.169" in err


def test_dns_record_outside_the_domain(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "{name: nfs.dmz.home,", "{name: nfs.example.org,")
    err = render_fails(capsys, model_copy, "homelab")
    assert (
        f"envs/homelab.yaml:{line_of(env, 'nfs.example.org')}: DNS record 'nfs.example.org' is "
        "outside the domain dmz.home; name it <host>.dmz.home" in err
    )
    # the replica inherits the list, so it refuses the same record
    assert "DNS record 'nfs.example.org' is outside the domain" in render_fails(capsys, model_copy)


def test_dns_record_needs_one_target(model_copy: Path, edit: Edit, capsys) -> None:
    env = model_copy / "envs/homelab.yaml"
    edit(env, "{name: nfs.dmz.home, address: 192.168.1.6}", "{name: nfs.dmz.home}")
    err = render_fails(capsys, model_copy, "homelab")
    assert f"envs/homelab.yaml:{line_of(env, 'name: nfs.dmz.home')}:" in err
    assert "needs exactly one of to:" in err


def test_a_duplicate_section_is_named_without_its_whole_content(model_copy: Path, capsys) -> None:
    env = model_copy / "envs/local.yaml"
    env.write_text(env.read_text() + "network:\n  subnet: auto\n")
    second = len(env.read_text().splitlines()) - 1
    err = render_fails(capsys, model_copy)
    assert err.splitlines() == [
        f"error: envs/local.yaml:{second}: duplicate key 'network'; keep one of the two entries"
    ]
