"""The `streamforge` command: everything the nox sessions do, without nox."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streamforge import console
from streamforge.errors import ModelError, StreamforgeError
from streamforge.load import Platform, find_root, load_platform
from streamforge.model import PROFILES


def _platform(args: argparse.Namespace) -> Platform:
    return load_platform(find_root(), args.env, getattr(args, "profile", None))


def cmd_render(args: argparse.Namespace) -> None:
    from streamforge.render import Facts, render, write

    platform = _platform(args)
    facts = Facts(kind_subnet=str(args.kind_subnet)) if args.kind_subnet else Facts()
    rendered = render(platform, facts)
    if platform.env.is_replica:  # the replica is the env that differs from production
        from streamforge.parity import parity_markdown

        rendered.files["parity.md"] = parity_markdown(platform.root, platform.env.name, facts=facts)
    output = Path(args.output or f"build/rendered/{platform.env.name}")
    write(rendered, output, platform.root)
    console.info(f"rendered env '{platform.env.name}': {len(rendered.files)} files in {output}")


def cmd_up(args: argparse.Namespace) -> None:
    from streamforge import plan
    from streamforge.replica import Replica

    replica = Replica(_platform(args))
    steps = replica.steps()
    if args.dry_run:
        console.step(f"plan for env '{replica.platform.env.name}' (dry run: nothing is changed)")
        for line in plan.describe(steps):
            console.info(line)
        return
    from streamforge import docker_host

    docker_host.check_engine()  # fail in seconds, before anything else
    from streamforge.tools import internet_problem

    offline = internet_problem()
    if offline:  # say it once, up front; steps that need nothing from the internet still run
        console.step(offline)
    replica.load_state()
    counts = plan.execute(steps, replica.state)
    console.step(f"up: {counts['ran']} step(s) ran, {counts['unchanged']} unchanged")


def cmd_down(args: argparse.Namespace) -> None:
    from streamforge import status
    from streamforge.replica import Replica

    status.down(Replica(_platform(args)))  # never downloads: works offline


def cmd_status(args: argparse.Namespace) -> None:
    from streamforge.status import show

    show(_platform(args))


def cmd_doctor(args: argparse.Namespace) -> None:
    from streamforge import doctor
    from streamforge.model import KindProvider

    platform = _platform(args)
    provider = platform.env.provider
    assert isinstance(provider, KindProvider)
    running = False
    try:
        from streamforge.replica import Replica

        running = Replica(platform).cluster_exists()
    except StreamforgeError:
        pass
    doctor.report(doctor.checks(provider, running))


def cmd_hosts(args: argparse.Namespace) -> None:
    from streamforge import hosts
    from streamforge.render import Facts, render

    platform = _platform(args)
    names = hosts.hostnames(platform, render(platform, Facts()))
    # 127.0.0.1 reaches Traefik through kind's host port mappings on every OS; the MetalLB
    # address is routable from the host on Linux only
    address = args.address or "127.0.0.1"
    path = Path(args.hosts_file)
    if args.remove:
        removed = hosts.remove(path)
        console.info(f"{'removed the StreamForge block from' if removed else 'nothing in'} {path}")
    elif args.apply:
        hosts.apply(path, address, names)
        console.info(f"{path} now resolves {len(names)} names to {address}")
    else:
        console.info(f"add these lines to {path} (or run with --apply):")
        print(hosts.block(address, names), end="")


def cmd_ca(args: argparse.Namespace) -> None:
    import base64
    import json

    from streamforge.replica import Replica

    replica = Replica(_platform(args))
    secret = replica.kube.query("get", "secret", "-n", "cert-manager", "homelab-ca", "-o", "json")
    if secret is None:
        raise StreamforgeError("secret cert-manager/homelab-ca not found; run `nox -s up` first")
    pem = base64.b64decode(json.loads(secret)["data"]["ca.crt"])
    Path(args.output).write_bytes(pem)
    console.info(
        f"wrote the replica's CA certificate to {args.output}; trust it with your OS "
        "tools (see docs/platform/dns-and-tls.md)"
    )


def _kind_subnet(value: str) -> str:
    from streamforge.render.context import kind_subnet

    try:
        return str(kind_subnet(value))
    except StreamforgeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="streamforge", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    def command(
        name: str, func: object, help_text: str, env: str = "local"
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--env", default=env, help=f"env file under envs/ (default {env})")
        p.set_defaults(func=func)
        return p

    p = command("render", cmd_render, "write every artefact of an env into a directory")
    p.add_argument("--output", "-o", help="directory (default build/rendered/<env>)")
    p.add_argument(
        "--kind-subnet",
        type=_kind_subnet,
        help="the docker kind network's subnet (default 172.18.0.0/16)",
    )
    p.add_argument("--profile", choices=PROFILES, help="override the env's profile")
    p = command("up", cmd_up, "bring up or converge the local kind replica")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--profile", choices=PROFILES, help="override the env's profile")
    command("down", cmd_down, "remove the replica's cluster and registry (only those)")
    command("status", cmd_status, "what of the replica runs, and where")
    command("doctor", cmd_doctor, "check this machine can run the replica")
    p = command("hosts", cmd_hosts, "print, add or remove the replica's names in /etc/hosts")
    p.add_argument("--apply", action="store_true", help="add (or update) the marked block")
    p.add_argument("--remove", action="store_true", help="remove the marked block")
    p.add_argument("--address", help="address to resolve to (default 127.0.0.1)")
    p.add_argument("--hosts-file", default="/etc/hosts", help="default /etc/hosts")
    p = command("ca", cmd_ca, "export the replica's CA certificate for the host to trust")
    p.add_argument("--output", "-o", default="streamforge-ca.crt", help="PEM file to write")
    from streamforge import validate  # cheap: the schema libraries load when it runs

    p = command(
        "validate",
        validate.cli,
        "check rendered objects and values against the pinned schemas "
        "(--env all, or a comma-separated list)",
        env="all",
    )
    validate.add_arguments(p)
    from streamforge import bench, deploy, gitlab_ci, scaffold

    scaffold.arguments(command("new-service", scaffold.cmd_new_service, "generate a service"))
    command("base-image", deploy.cmd_base_image, "build the unified base image")
    p = command("deploy", deploy.cmd_deploy, "build, push and install a service into the replica")
    deploy.deploy_arguments(p)
    bench.arguments(command("bench", bench.cmd_bench, "time base image, new service and rebuilds"))
    gitlab_ci.arguments(command("check-ci", gitlab_ci.cmd_check_ci, "check .gitlab-ci.yml offline"))
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except ModelError as exc:
        for problem in exc.problems:
            console.error(str(problem))
        return 2
    except StreamforgeError as exc:
        console.error(str(exc))
        return 1
    except KeyboardInterrupt:
        console.error("interrupted; run the same command again to converge")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
