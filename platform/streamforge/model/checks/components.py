"""Cross-field checks of the components an env runs: the names it configures, stand-ins,
which components are enabled (profile, stage, `enabled`, `left_out`), their dependencies,
the nodes components and services are pinned to, and the dependency order.

Each check appends a `Problem` (`file:line: problem; fix`) per violation to `problems`; none
raises."""

from __future__ import annotations

import difflib

from streamforge.errors import Problem
from streamforge.model.checks.loaded import Loaded
from streamforge.model.schema.base import PROFILES
from streamforge.model.sources import Loc


def check_component_keys(m: Loaded, problems: list[Problem]) -> None:
    """Every component the env configures exists (a near name is suggested)."""
    for key in m.env.components:
        if key not in m.components:
            guess = difflib.get_close_matches(key, list(m.components), n=1)
            problems.append(
                m.env_origins.problem(
                    ("components", key),
                    f"unknown component '{key}'",
                    f"did you mean '{guess[0]}'?"
                    if guess
                    else f"use one of: {', '.join(sorted(m.components))}",
                )
            )


def check_stand_ins(m: Loaded, problems: list[Problem]) -> None:
    """A component's replica stand-in is a component."""
    for name, comp in sorted(m.components.items()):
        stand_in = comp.replica.stand_in if comp.replica else None
        if stand_in and stand_in not in m.components:
            problems.append(
                m.component_origins[name].problem(
                    ("replica", "stand_in"),
                    f"stand-in '{stand_in}' is not a component",
                    f"use one of: {', '.join(sorted(m.components))}",
                )
            )


def enabled_components(m: Loaded, problems: list[Problem]) -> set[str]:
    """The components this env runs: those of its profile that run in its stage (replica or
    production), unless its `components:` says `enabled` or `left_out`. Refuses a component
    both enabled and left out, and one enabled where it does not run."""
    env, eo = m.env, m.env_origins
    stage = "replica" if env.is_replica else "production"
    enabled: set[str] = set()
    for name, comp in m.components.items():
        setting = env.components.get(name)
        default_on = (
            PROFILES.index(comp.profile) <= PROFILES.index(env.profile) and stage in comp.runs_in
        )
        if setting and setting.left_out:
            if setting.enabled:
                problems.append(
                    eo.problem(
                        ("components", name, "enabled"),
                        f"component '{name}' is both enabled and left out",
                        "remove enabled: true or left_out",
                    )
                )
            continue
        if setting.enabled if setting and setting.enabled is not None else default_on:
            if stage not in comp.runs_in:
                problems.append(
                    eo.problem(
                        ("components", name, "enabled"),
                        f"component '{name}' does not run in the {stage}",
                        "remove enabled: true",
                    )
                )
            enabled.add(name)
    return enabled


def check_dependencies(m: Loaded, enabled: set[str], problems: list[Problem]) -> None:
    """Every dependency of an enabled component exists and is enabled, unless it never runs
    in this stage (a replica-only stub) or the env leaves it out."""
    env, eo, co = m.env, m.env_origins, m.component_origins
    stage = "replica" if env.is_replica else "production"
    for name in sorted(enabled):
        for index, dep in enumerate(m.components[name].depends_on):
            if dep not in m.components:
                problems.append(
                    co[name].problem(
                        ("depends_on", index),
                        f"depends on unknown component '{dep}'",
                        f"use one of: {', '.join(sorted(m.components))}",
                    )
                )
            elif (
                dep not in enabled
                and stage in m.components[dep].runs_in
                and not (env.components.get(dep) and env.components[dep].left_out)
            ):
                # the line that disabled it (an env may extend one that configures it)
                dep_loc: Loc = next(
                    (
                        loc
                        for loc in (("components", dep, "enabled"), ("components", dep))
                        if loc in eo
                    ),
                    ("depends_on", index),
                )
                where = eo if dep_loc[0] == "components" else co[name]
                problems.append(
                    where.problem(
                        dep_loc,
                        f"'{name}' depends on '{dep}', which is not enabled in env '{env.name}'",
                        f"enable '{dep}' or disable '{name}'",
                    )
                )


def check_pinned_nodes(m: Loaded, enabled: set[str], problems: list[Problem]) -> None:
    """A service or enabled component pinned to a node pins to one the env has (in the
    replica: a mirrored node)."""
    nodes = m.pinnable_nodes
    pinned = [(m.service_origins[n], s.node) for n, s in m.services.items()] + [
        (m.component_origins[n], m.components[n].node) for n in sorted(enabled)
    ]
    for where, node_name in pinned:
        if node_name and node_name not in nodes:
            problems.append(
                where.problem(
                    ("node",),
                    f"node '{node_name}' is not a "
                    f"{'mirrored ' if m.env.is_replica else ''}node of env "
                    f"'{m.env.name}'",
                    f"use one of: {', '.join(sorted(nodes))}",
                )
            )


def dependency_order(m: Loaded, enabled: set[str], problems: list[Problem]) -> list[str]:
    """`enabled` in dependency order (ties broken by name, so the order is stable); a cycle
    is a problem at the depends_on of a component in it."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = " -> ".join([*path[path.index(name) :], name])
            problems.append(
                m.component_origins[name].problem(
                    ("depends_on",),
                    f"dependency cycle: {cycle}",
                    "remove one of these depends_on entries",
                )
            )
            return
        state[name] = "active"
        for dep in sorted(m.components[name].depends_on):
            if dep in enabled:
                visit(dep, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in sorted(enabled):
        visit(name, [])
    return order
