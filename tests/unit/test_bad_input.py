"""Bad input of every kind the model once accepted silently: each is refused with exit code 2,
`file:line: problem; fix`, nothing written; the console prints exactly the raised text; every
example a fix offers (in backticks) is itself accepted at that place."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamforge.commands.cli import main
from streamforge.errors import ModelError
from streamforge.model import pins
from streamforge.model.load import load_platform
from streamforge.render.context import Facts
from streamforge.render.env import render
from tests.conftest import REPO

HOMELAB, LOCAL = "envs/homelab.yaml", "envs/local.yaml"
DUMMY = "services/dummy-service/service.yaml"
GPU_NODE = "      count: 1\n      product: NVIDIA-GeForce-RTX-3090\n      memory_mib: 24576"


@dataclass(frozen=True)
class Case:
    id: str
    file: str  # edited file, relative to the repository copy
    old: str  # exact snippet replaced (empty: `new` is appended)
    new: str
    at: str  # a snippet on the line the error must name
    problem: str
    fix: str
    env: str = "local"
    value: str = ""  # the bad value inside `new`, replaced by each example of the fix
    args: tuple[str, ...] = ()
    at_file: str = ""  # the file the error names, when not the edited one


def second_service(name: str, host: str, topic: str) -> str:
    return (
        f"name: {name}\ndescription: a second service\nowner: platform\nhost: {host}\n"
        f"kafka:\n  topics:\n    - name: {topic}\n"
    )


CASES = [
    # -- addresses --------------------------------------------------------------------------
    Case(
        "pool-outside-nodes-subnet",
        HOMELAB,
        "lb_pool: 192.168.1.150-192.168.1.169",
        "lb_pool: 10.99.0.0/24",
        "lb_pool:",
        "lb_pool 10.99.0.0/24 is not inside the nodes' subnet 192.168.1.0/24",
        "pick a pool inside it",
        env="homelab",
    ),
    Case(
        "pool-holds-network-address",
        HOMELAB,
        "lb_pool: 192.168.1.150-192.168.1.169",
        "lb_pool: 192.168.1.0/27",
        "lb_pool:",
        "includes the network or broadcast address of 192.168.1.0/24",
        "use addresses in 192.168.1.1-192.168.1.254 only",
        env="homelab",
        value="192.168.1.0/27",
    ),
    Case(
        "replica-pool-holds-kind-network-address",
        LOCAL,
        "  lb_pool: auto",
        "  lb_pool: 10.99.0.0/24",
        "lb_pool:",
        "includes the network or broadcast address of 10.99.0.0/16",
        "e.g. `10.99.0.1-10.99.0.255`",
        value="10.99.0.0/24",
        args=("--kind-subnet", "10.99.0.0/16"),
    ),
    Case(
        "replica-pool-outside-kind-network",
        LOCAL,
        "  lb_pool: auto",
        "  lb_pool: 10.99.0.0/24",
        "lb_pool:",
        "lb_pool 10.99.0.0/24 is not inside the nodes' subnet 172.18.0.0/16",
        "pick a pool inside it",
    ),
    Case(
        "pool-and-nodes-in-different-subnets",
        HOMELAB,
        "subnet: 192.168.1.0/24",
        "subnet: 192.168.2.0/24",
        "lb_pool:",
        "not inside the nodes' subnet 192.168.2.0/24",
        "pick a pool inside it",
        env="homelab",
    ),
    Case(
        "pool-cidr-with-host-bits",
        HOMELAB,
        "lb_pool: 192.168.1.150-192.168.1.169",
        "lb_pool: 192.168.1.150/28",
        "lb_pool:",
        "'192.168.1.150/28' has host bits set",
        "e.g. `192.168.1.150-192.168.1.158`",
        env="homelab",
        value="192.168.1.150/28",
    ),
    Case(
        "pool-neither-cidr-nor-range",
        HOMELAB,
        "lb_pool: 192.168.1.150-192.168.1.169",
        "lb_pool: 192.168.1.150:169",
        "lb_pool:",
        "neither a CIDR nor a range",
        "`192.168.1.144/28` or `192.168.1.150-192.168.1.169`",
        env="homelab",
        value="192.168.1.150:169",
    ),
    Case(
        "ingress-not-an-address",
        HOMELAB,
        "  ingress_address: 192.168.1.153",
        "  ingress_address: 192.168.1.999",
        "  ingress_address:",
        "'192.168.1.999' is not an IPv4 address",
        "e.g. `192.168.1.153`",
        env="homelab",
        value="192.168.1.999",
    ),
    Case(
        "backup-ingress-not-an-address",
        HOMELAB,
        "backup_ingress_address: 192.168.1.154",
        "backup_ingress_address: 192.168.1.x",
        "backup_ingress_address:",
        "'192.168.1.x' is not an IPv4 address",
        "e.g. `192.168.1.154`",
        env="homelab",
        value="192.168.1.x",
    ),
    Case(
        "nfs-server-three-numbers",
        HOMELAB,
        "server: 192.168.1.6",
        "server: 192.168.1",
        "server:",
        "'192.168.1' is not an IPv4 address",
        "`192.168.1.6`",
        env="homelab",
        value="192.168.1",
    ),
    Case(
        "nfs-server-not-a-host-name",
        HOMELAB,
        "server: 192.168.1.6",
        "server: nfs_server!",
        "server:",
        "neither an IPv4 address nor a host name",
        "`192.168.1.6` or `nfs.dmz.home`",
        env="homelab",
        value="nfs_server!",
    ),
    Case(
        "nfs-server-inside-pool",
        HOMELAB,
        "server: 192.168.1.6",
        "server: 192.168.1.160",
        "server:",
        "NFS server 192.168.1.160 lies inside lb_pool",
        "do not overlap",
        env="homelab",
    ),
    # -- duplicates -------------------------------------------------------------------------
    Case(
        "mirror-node-twice",
        LOCAL,
        "mirror_nodes: [k2w-7, k2w-8, k2w-9]",
        "mirror_nodes: [k2w-7, k2w-7, k2w-9]",
        "mirror_nodes:",
        "mirror_nodes lists 'k2w-7' twice",
        "list each node once",
    ),
    Case(
        "same-host-port-twice",
        LOCAL,
        "  cluster_name: streamforge",
        "  cluster_name: streamforge\n  http_port: 8080\n  https_port: 8080",
        "https_port:",
        "https_port 8080 is also http_port",
        "give each host port its own number",
    ),
    Case(
        "two-services-one-host",
        "services/other/service.yaml",
        "",
        second_service("other", "dummy-service", "other.events"),
        "host:",
        "host 'dummy-service' is also the host of service 'dummy-service'",
        "e.g. `other-api`",
        value="host: dummy-service",
    ),
    Case(
        "two-services-one-topic",
        "services/other/service.yaml",
        "",
        second_service("other", "other", "dummy-service.events"),
        "- name: dummy-service.events",
        "topic 'dummy-service.events' is also declared by service 'dummy-service'",
        "others list it under kafka.consumes",
    ),
    Case(
        "service-host-a-component-serves",
        DUMMY,
        "host: dummy-service",
        "host: docs",
        "host: docs",
        "host 'docs' (docs.dmz.home) is already served by component 'docs-site'",
        "e.g. `dummy-service-svc`",
        value="docs",
    ),
    # -- ranges -----------------------------------------------------------------------------
    Case(
        "gpu-count-beyond-any-machine",
        HOMELAB,
        "      count: 1",
        "      count: 64",
        "count: 64",
        "nodes.5.gpus.count: 64 is out of range",
        "use a value at most 16",
    ),
    Case(
        "gpu-memory-beyond-any-gpu",
        HOMELAB,
        "memory_mib: 24576",
        "memory_mib: 2457600",
        "memory_mib:",
        "nodes.5.gpus.memory_mib: 2457600 is out of range",
        "use a value at most 294912",
    ),
    Case(
        "topic-name-too-long",
        DUMMY,
        "- name: dummy-service.events",
        "- name: " + "t" * 250,
        "- name: ttt",
        "kafka.topics.0.name: longer than 249 characters",
        "shorten it to at most 249",
    ),
    Case(
        "topic-name-only-dots",
        DUMMY,
        "- name: dummy-service.events",
        "- name: '...'",
        "- name: '...'",
        "topic name '...' is only dots",
        "e.g. `market.ticks`",
        value="'...'",
    ),
    Case(
        "gpus-over-time-slicing-limit",
        DUMMY,
        "gpus: 0",
        "gpus: 3",
        "gpus:",
        "requests 3 GPUs but GPU time-slicing refuses requests over 1",
        "request gpus: 1",
    ),
    Case(
        "gpus-where-no-gpu-node-runs",
        LOCAL,
        "mirror_nodes: [k2w-7, k2w-8, k2w-9]",
        "mirror_nodes: [k2w-7, k2w-9]",
        "gpus: 1",
        "requests 1 GPU(s) but env 'local' has no mirrored node with gpus",
        "set gpus: 0",
        at_file=DUMMY,
    ),
    # -- names ------------------------------------------------------------------------------
    Case(
        "registry-path-upper-case",
        LOCAL,
        "image_registry: localhost:5001/streamforge",
        "image_registry: localhost:5001/StreamForge",
        "image_registry:",
        "'localhost:5001/StreamForge' is not a registry host and repository path",
        "e.g. `localhost:5001/streamforge`",
        value="localhost:5001/StreamForge",
    ),
    Case(
        "env-name-differs-from-file",
        LOCAL,
        "name: local",
        "name: laptop",
        "name: laptop",
        "name 'laptop' differs from the file name 'local.yaml'",
        "write name: local",
    ),
    # -- `auto` is the replica's: production has no kind network to carve it from ----------
    *(
        Case(
            f"production-{key}-auto",
            HOMELAB,
            old,
            f"{key}: auto",
            f"{key}: auto",
            f"network.{key}: auto is only for the kind replica",
            "write the address",
            env="homelab",
        )
        for key, old in (
            ("lb_pool", "lb_pool: 192.168.1.150-192.168.1.169"),
            ("ingress_address", "ingress_address: 192.168.1.153"),
            ("subnet", "subnet: 192.168.1.0/24"),
        )
    ),
    # -- the replica's provider ------------------------------------------------------------
    Case(
        "node-image-with-a-space",
        LOCAL,
        "  cluster_name: streamforge\n",
        '  cluster_name: streamforge\n  node_image: "kindest/node:v1.36.1 "\n',
        "node_image:",
        "provider.node_image: 'kindest/node:v1.36.1 ' is not an image reference",
        "write registry/name:tag",
    ),
    Case(
        "mirror-of-the-project-registry",
        LOCAL,
        "  cluster_name: streamforge\n",
        "  cluster_name: streamforge\n  mirrors:\n    localhost:5001: {url: https://h.example.com}\n",
        "localhost:5001:",
        "'localhost:5001' is the replica's own registry (provider.registry_port), not an upstream",
        "remove this mirror",
    ),
    Case(
        "mirror-url-without-scheme",
        LOCAL,
        "  cluster_name: streamforge\n",
        "  cluster_name: streamforge\n  mirrors:\n    docker.io: {url: harbor.example.com}\n",
        "docker.io:",
        "provider.mirrors.docker.io.url: 'harbor.example.com' is not an http(s) URL",
        "e.g. `https://harbor.example.com`",
        value="harbor.example.com",
    ),
    # -- versions ---------------------------------------------------------------------------
    Case(
        "kubernetes-version-the-kind-image-lacks",
        HOMELAB,
        "kubernetes_version: v1.36.1",
        "kubernetes_version: v1.35.0",
        "kubernetes_version:",
        "kubernetes_version v1.35.0 is not what the kind node image pinned in",
        "write kubernetes_version: v1.36.1",
    ),
    Case(
        "chart-version-latest",
        "platform/components/traefik/component.yaml",
        "version: 36.1.0}",
        "version: latest}",
        "version: latest",
        "chart version 'latest' is not an exact version",
        "e.g. `1.17.2`",
    ),
    Case(
        "taint-effect-misspelt",
        HOMELAB,
        "effect: NoSchedule}",
        "effect: noschedule}",
        "effect: noschedule",
        "'noschedule' is not allowed",
        "use one of: NoSchedule, PreferNoSchedule, NoExecute",
    ),
    # -- labels the kubelet may not self-assign ---------------------------------------------
    *(
        Case(
            f"label-{key}",
            HOMELAB,
            "      streamforge.io/pool: tools",
            f"      {key}: 'x'",
            key,
            f"label '{key}' of mirrored node 'k2w-7'",
            "use a streamforge.io/ label instead, or one the kubelet may set",
        )
        for key in (
            "kubernetes.io/role",
            "node-role.kubernetes.io/tools",
            "topology.k8s.io/rack",
            "k8s.io/x",
        )
    ),
]


def apply(root: Path, case: Case, new: str | None = None) -> Path:
    path = root / case.file
    text = new if new is not None else case.new
    if case.old:
        content = path.read_text()
        assert case.old in content, f"{case.old!r} not in {path}"
        path.write_text(content.replace(case.old, text, 1))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if case.id == "gpus-where-no-gpu-node-runs":
        service = root / DUMMY
        service.write_text(service.read_text().replace("gpus: 0", "gpus: 1"))
    return path


def top_level_line(path: Path, key: str) -> int:
    """The line of the top-level `key:` of a YAML file."""
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:"))


def line_of(path: Path, snippet: str) -> int:
    found = [n for n, line in enumerate(path.read_text().splitlines(), 1) if snippet in line]
    assert found, f"{snippet!r} not in {path}"
    return found[-1]


def raised(root: Path, case: Case) -> ModelError:
    facts = Facts(kind_subnet=case.args[1]) if case.args else Facts()
    with pytest.raises(ModelError) as info:
        render(load_platform(root, case.env), facts)
    return info.value


@pytest.fixture
def repo(model_copy: Path) -> Iterator[Path]:
    yield model_copy


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_refused_with_file_line_and_fix(repo: Path, case: Case, capsys) -> None:
    path = apply(repo, case)
    out = repo / "out"
    code = main(["render", "--env", case.env, "--output", str(out), *case.args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not out.exists(), "a failed render must write nothing"
    named = repo / case.at_file if case.at_file else path
    where = f"{case.at_file or case.file}:{line_of(named, case.at)}: "
    mine = [line for line in err.splitlines() if where in line and case.problem in line]
    assert mine, f"expected {where}...{case.problem} in:\n{err}"
    assert case.fix in mine[0]
    # the console prints exactly what was raised, markup characters and all
    expected = [f"error: {problem}" for problem in raised(repo, case).problems]
    assert err.splitlines() == expected


EXAMPLES = [c for c in CASES if c.value]


@pytest.mark.parametrize("case", EXAMPLES, ids=[c.id for c in EXAMPLES])
def test_every_example_in_a_fix_is_accepted_there(repo: Path, case: Case) -> None:
    path = apply(repo, case)
    line = line_of(path, case.at)
    problem = next(p for p in raised(repo, case).problems if p.line == line)
    examples = re.findall(r"`([^`]+)`", problem.fix)
    assert examples, problem.fix
    original = path.read_text()
    for example in examples:
        path.write_text(original)
        fixed = case.new.replace(case.value.removeprefix("host: "), example)
        apply_again(repo, case, fixed)
        try:
            render(
                load_platform(repo, case.env),
                Facts(kind_subnet=case.args[1]) if case.args else Facts(),
            )
        except ModelError as exc:
            at_line = [p for p in exc.problems if p.file == case.file and p.line == line]
            assert not at_line, f"the example {example!r} is refused: {at_line}"


def apply_again(root: Path, case: Case, fixed: str) -> None:
    """Put the original file back, then apply the case with the fixed value."""
    source = REPO / case.file
    target = root / case.file
    if source.is_file():
        target.write_text(source.read_text())
    apply(root, case, fixed)


@pytest.mark.parametrize(
    "key",
    [
        "topology.kubernetes.io/zone",
        "node.kubernetes.io/instance-type",
        "node.kubernetes.io/rack",
        "rack.node.kubernetes.io/row",
        "kubelet.kubernetes.io/x",
        "nodekubernetes.io/x",
        "example.com/pool",
    ],
)
def test_labels_the_kubelet_may_set_are_accepted_on_a_mirrored_node(repo: Path, key: str) -> None:
    env = repo / HOMELAB
    env.write_text(env.read_text().replace("streamforge.io/pool: tools", f"{key}: rack-a", 1))
    node = load_platform(repo, "local").env.node("k2w-7")
    assert node is not None and node.labels == {key: "rack-a"}


@pytest.mark.parametrize(
    ("old", "new", "problem", "fix"),
    [
        (
            "linux-amd64: 50030de23cf40a18505f20426f6a8506bedf13c6e509244bd1fa9463721b0f54",
            "linux-amd64: 50030de23cf40a18",
            "is not a SHA-256 checksum (16 characters)",
            "write the 64 lower-case hex digits",
        ),
        (
            "@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
            "@sha256:3489c767",
            "image digest 'sha256:3489c767' is not sha256: and 64 hex digits",
            "write kindest/node:v1.36.1@sha256:<64 hex digits>",
        ),
        (
            "  kind_node: kindest/node",
            "  old_node: kindest/node",
            "no pin for images.kind_node",
            "add it under images:",
        ),
    ],
    ids=["short-checksum", "short-digest", "missing-pin"],
)
def test_bad_pin_is_refused_with_file_line_and_fix(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys, old: str, new: str, problem: str, fix: str
) -> None:
    pinned = repo / "platform" / "pins.yaml"
    text = (REPO / "platform" / "pins.yaml").read_text()
    assert old in text
    pinned.write_text(text.replace(old, new, 1))
    monkeypatch.setattr(pins, "PINS_FILE", pinned)
    out = repo / "out"
    code = main(["render", "--env", "local", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not out.exists()
    line = line_of(pinned, new.split(":")[0] if "no pin" in problem else new)
    if "no pin" in problem:
        line = top_level_line(pinned, "images")
    where = f"platform/pins.yaml:{line}: "
    assert any(where in e and problem in e and fix in e for e in err.splitlines()), err


def test_component_values_that_are_a_list_are_refused(repo: Path, capsys) -> None:
    values = repo / "platform/components/metallb/values.yaml"
    values.write_text("- controller\n- speaker\n")
    out = repo / "out"
    code = main(["render", "--env", "local", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists(), err
    assert "platform/components/metallb/values.yaml:1: chart values must be a mapping" in err


@pytest.mark.parametrize(
    ("subnet", "message"),
    [
        ("not-a-subnet", "kind subnet 'not-a-subnet' is not an IPv4 subnet; write it like"),
        ("10.0.0.0/29", "kind subnet '10.0.0.0/29' is too small"),
        ("10.0.0.0/28", "kind subnet '10.0.0.0/28' is too small"),
    ],
)
def test_kind_subnet_option_is_checked(repo: Path, capsys, subnet: str, message: str) -> None:
    out = repo / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "--env", "local", "--output", str(out), "--kind-subnet", subnet])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and not out.exists()
    assert f"argument --kind-subnet: {message}" in err
    assert "not an IPv4 subnet" in message or "use a /27 or larger" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("domain: dmz.home", "domain: '[/x]'"),
        ("domain: dmz.home", "domain: '[bold red]x[/]'"),
        ("  - name: k2m-1", "  - name: '[a-z0-9]'"),
    ],
)
def test_markup_in_input_is_printed_literally(repo: Path, capsys, old: str, new: str) -> None:
    env = repo / HOMELAB
    env.write_text(env.read_text().replace(old, new, 1))
    code = main(["render", "--env", "homelab", "--output", str(repo / "out")])
    err = capsys.readouterr().err
    assert code == 2
    with pytest.raises(ModelError) as info:
        load_platform(repo, "homelab")
    assert err.splitlines() == [f"error: {p}" for p in info.value.problems]
    assert new.split(": ", 1)[1].strip("'") in err
    assert "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" in err or "domain" in new
