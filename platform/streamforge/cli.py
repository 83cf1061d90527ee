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
    facts = Facts(kind_subnet=args.kind_subnet) if args.kind_subnet else Facts()
    rendered = render(platform, facts)
    output = Path(args.output or f"build/rendered/{platform.env.name}")
    write(rendered, output)
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
    replica.load_state()
    counts = plan.execute(steps, replica.state)
    console.step(f"up: {counts['ran']} step(s) ran, {counts['unchanged']} unchanged")


def cmd_down(args: argparse.Namespace) -> None:
    from streamforge import docker_host
    from streamforge.replica import Replica

    docker_host.check_engine()
    Replica(_platform(args)).down()


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
    p.add_argument("--kind-subnet", help="the docker kind network's subnet (default 172.18.0.0/16)")
    p.add_argument("--profile", choices=PROFILES, help="override the env's profile")
    p = command("up", cmd_up, "bring up or converge the local kind replica")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--profile", choices=PROFILES, help="override the env's profile")
    command("down", cmd_down, "remove the replica's cluster and registry (only those)")
    command("status", cmd_status, "what of the replica runs, and where")
    command("doctor", cmd_doctor, "check this machine can run the replica")
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
