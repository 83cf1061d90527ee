"""The `streamforge` command: everything the nox sessions do, without nox."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from streamforge import console
from streamforge.errors import DEBUG_ENV, ModelError, StreamforgeError, unexpected
from streamforge.model.load import Platform, find_root, load_platform
from streamforge.model.schema.base import PROFILES
from streamforge.model.schema.provider import KindProvider

if TYPE_CHECKING:
    from streamforge.commands.bom import Bom

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def _platform(args: argparse.Namespace) -> Platform:
    return load_platform(find_root(), args.env, getattr(args, "profile", None))


def cmd_render(args: argparse.Namespace) -> None:
    from streamforge.render.context import Facts
    from streamforge.render.env import render
    from streamforge.render.output import write

    platform = _platform(args)
    facts = Facts(kind_subnet=str(args.kind_subnet)) if args.kind_subnet else Facts()
    rendered = render(platform, facts)
    if platform.env.is_replica:  # the replica is the env that differs from production
        from streamforge.render.parity import parity_markdown

        rendered.files["parity.md"] = parity_markdown(platform.root, platform.env.name, facts=facts)
    # the default is the repository's, wherever in it the command runs
    output = (
        Path(args.output) if args.output else platform.root / "build/rendered" / platform.env.name
    )
    write(rendered, output, platform.root)
    console.info(f"rendered env '{platform.env.name}': {len(rendered.files)} files in {output}")


def cmd_up(args: argparse.Namespace) -> None:
    from streamforge.commands.up import up

    counts = up(_platform(args), offline=args.offline, dry=args.dry_run)
    if counts:
        console.step(f"up: {counts['ran']} step(s) ran, {counts['unchanged']} unchanged")


def _replica_bom(args: argparse.Namespace) -> tuple[Platform, Bom]:
    """The BOM of the env and profile; charts missing from the chart cache are pulled."""
    from streamforge.commands import bom
    from streamforge.execute import docker_host
    from streamforge.execute.tools import resolve
    from streamforge.render.context import Facts

    platform = _platform(args)
    if not isinstance(platform.env.provider, KindProvider):
        raise StreamforgeError(
            f"env '{platform.env.name}' is not a kind replica; the bill of materials is the "
            "replica's (use --env local)"
        )
    facts = Facts(node_image=docker_host.node_image_override())
    result, _ = bom.build(platform, facts, resolve("helm"), fetch=True)
    return platform, result


def cmd_bom(args: argparse.Namespace) -> None:
    if args.json:
        with contextlib.redirect_stdout(sys.stderr):  # progress (chart pulls) off stdout
            _, result = _replica_bom(args)
        print(result.to_json())
        return
    _, result = _replica_bom(args)
    console.step(f"bill of materials: env '{result.env}', profile '{result.profile}'")
    console.step(f"{len(result.charts)} charts")
    for chart in result.charts:
        state = "cached" if chart.cached else "not cached"
        console.info(f"{chart.name} {chart.version} ({chart.repo}) for {chart.component}: {state}")
    console.step(
        f"{len(result.images)} images (docker: run by the engine; cache: pulled by "
        "the nodes through the image cache; project: built by up)"
    )
    for image in result.images:
        console.info(f"{image.where:<8} {image.ref}  <- {', '.join(image.used_by)}")


def cmd_prefetch(args: argparse.Namespace) -> None:
    from streamforge.commands import offline
    from streamforge.execute import charts, docker_host, images, registry
    from streamforge.execute.tools import resolve

    docker_host.check_engine()
    for tool in ("kind", "helm"):
        console.info(f"using {resolve(tool)}")
    platform, result = _replica_bom(args)
    console.step(f"charts: {len(result.charts)} in {charts.chart_cache()}")
    console.step("images the Docker engine runs, then the image cache")
    assert isinstance(platform.env.provider, KindProvider)
    counts = offline.prefetch(result, platform.env.provider)
    console.step("the base image")
    console.info(images.ensure_base(platform.root))
    console.step(
        f"prefetch: {counts['pushed']} image(s) added to {registry.image_cache()}, "
        f"{counts['cached']} already there, {counts['mirror']} served by the env's mirrors; "
        f"now `nox -s up -- --offline --env {result.env} --profile {result.profile}` needs no "
        "network"
    )


def cmd_down(args: argparse.Namespace) -> None:
    from streamforge.commands.up import down
    from streamforge.execute.drivers import Drivers

    down(Drivers(_platform(args), allow_download=False))  # works offline


def cmd_status(args: argparse.Namespace) -> None:
    from streamforge.commands.status import show

    show(_platform(args))


def cmd_doctor(args: argparse.Namespace) -> None:
    from streamforge.commands import doctor
    from streamforge.model.schema.provider import KindProvider

    platform = _platform(args)
    provider = platform.env.provider
    assert isinstance(provider, KindProvider)
    doctor.report(doctor.checks(provider))


def cmd_ca(args: argparse.Namespace) -> None:
    import base64
    import json

    from streamforge.execute.drivers import Drivers

    secret = Drivers(_platform(args)).kube.query(
        "get", "secret", "-n", "cert-manager", "homelab-ca", "-o", "json"
    )
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


def _command(
    sub: Subcommands, name: str, func: object, help_text: str, env: str = "local"
) -> argparse.ArgumentParser:
    """Add subcommand `name`, which runs `func(args)` and takes `--env` (default `env`)."""
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--env", default=env, help=f"env file under envs/ (default {env})")
    p.set_defaults(func=func)
    return p


def _profile_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=PROFILES, help="override the env's profile")


def _build_commands(sub: Subcommands) -> None:
    """render, up, bom and prefetch: what builds the replica, and its inputs."""
    add = partial(_command, sub)
    p = add("render", cmd_render, "write every artefact of an env into a directory")
    p.add_argument(
        "--output", "-o", help="directory (default build/rendered/<env> in the repository)"
    )
    p.add_argument(
        "--kind-subnet",
        type=_kind_subnet,
        help="the docker kind network's subnet (default 172.18.0.0/16)",
    )
    _profile_argument(p)
    p = add("up", cmd_up, "bring up or converge the local kind replica")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    _profile_argument(p)
    p.add_argument(
        "--offline",
        action="store_true",
        help="refuse (before changing anything) unless the caches hold everything needed",
    )
    p = add("bom", cmd_bom, "every chart and image the replica needs (bill of materials)")
    _profile_argument(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add("prefetch", cmd_prefetch, "fill the chart and image caches for `up --offline`")
    _profile_argument(p)


def _operate_commands(sub: Subcommands) -> None:
    """down, status, doctor, hosts and ca: operating the running replica and its host."""
    from streamforge.commands import hosts

    add = partial(_command, sub)
    add("down", cmd_down, "remove the replica's cluster and registry (only those)")
    add("status", cmd_status, "what of the replica runs, and where")
    add("doctor", cmd_doctor, "check this machine can run the replica")
    p = add("hosts", hosts.cmd_hosts, "print, add or remove the replica's names in /etc/hosts")
    hosts.arguments(p)
    p = add("ca", cmd_ca, "export the replica's CA certificate for the host to trust")
    p.add_argument("--output", "-o", default="streamforge-ca.crt", help="PEM file to write")


def _develop_commands(sub: Subcommands) -> None:
    """validate, new-service, base-image, deploy, bench, check-ci: each adds its arguments."""
    from streamforge.commands import bench, check_ci, deploy, scaffold
    from streamforge.validate import env as validate

    add = partial(_command, sub)
    p = add(
        "validate",
        validate.cli,
        "check rendered objects and values against the pinned schemas "
        "(--env all, or a comma-separated list)",
        env="all",
    )
    validate.add_arguments(p)
    scaffold.arguments(add("new-service", scaffold.cmd_new_service, "generate a service"))
    add("base-image", deploy.cmd_base_image, "build the unified base image")
    p = add("deploy", deploy.cmd_deploy, "build, push and install a service into the replica")
    deploy.deploy_arguments(p)
    bench.arguments(add("bench", bench.cmd_bench, "time base image, new service and rebuilds"))
    check_ci.arguments(add("check-ci", check_ci.cmd_check_ci, "check .gitlab-ci.yml offline"))


def parser() -> argparse.ArgumentParser:
    """The `streamforge` argument parser: one subcommand per nox session."""
    top = argparse.ArgumentParser(prog="streamforge", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    _build_commands(sub)
    _operate_commands(sub)
    _develop_commands(sub)
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
    except Exception as exc:  # the last line of defence: a classified line, not a traceback
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        console.error(unexpected(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
