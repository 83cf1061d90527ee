"""Per component, in dependency order: its Helm release (chart, pinned version, namespace,
values) and its post-install objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamforge.errors import ModelError, Problem
from streamforge.model.facts import settings as component_settings
from streamforge.model.load import Platform
from streamforge.model.sources import display_path
from streamforge.render.context import Facts, Rendered, Templates, dump, dump_all


def render(platform: Platform, facts: Facts) -> Rendered:
    templates = Templates(platform, facts)
    out = Rendered(addresses=templates.addresses)
    listing: list[dict[str, Any]] = []
    for index, name in enumerate(platform.enabled, start=1):
        comp = platform.components[name]
        folder = platform.component_dir(name)
        settings = component_settings(platform, name)
        values: dict[str, Any] = {}
        if (folder / "values.yaml").is_file():
            rendered = templates.render(folder / "values.yaml", component=comp, settings=settings)
            values = (rendered or [{}])[0] or {}
            if not isinstance(values, dict):
                raise ModelError(
                    [
                        Problem(
                            display_path(folder / "values.yaml"),
                            1,
                            f"chart values must be a mapping, not a {type(values).__name__}",
                            "write key: value lines (Helm merges values as a map)",
                        )
                    ]
                )
        setting = platform.env.components.get(name)
        if setting and setting.values:
            values = merge_values(values, setting.values)
        objects: list[dict[str, Any]] = []
        for path in sorted(folder.glob("manifests/*.yaml")):
            objects.extend(
                obj
                for obj in templates.render(path, component=comp, values=values, settings=settings)
                # an object served by a component the env leaves out could never be applied
                if not platform.left_out_api(obj.get("apiVersion", ""))
            )
        out.values[name] = values
        out.objects[name] = objects
        entry: dict[str, Any] = {"name": name, "namespace": comp.namespace}
        if comp.chart:
            entry["chart"] = comp.chart.model_dump()
            entry["values"] = f"values/{name}.yaml"
            out.files[f"values/{name}.yaml"] = dump(values)
        if objects:
            entry["manifests"] = f"manifests/{index:02d}-{name}.yaml"
            out.files[entry["manifests"]] = dump_all(objects)
        entry["depends_on"] = [d for d in comp.depends_on if d in platform.enabled]
        entry["wait_seconds"] = comp.wait_seconds
        listing.append(entry)
    out.files["releases.yaml"] = dump({"env": platform.env.name, "releases": listing})
    return out


def merge_values(base: Any, override: Any) -> Any:
    """An env's `values` over a component's: maps merge key by key, a list or scalar replaces,
    and null removes the component's key, as a null in a values file removes a chart default
    in Helm ("Deleting a default key", helm.sh/docs/chart_template_guide/values_files). A null
    for a key the component does not write stays, so it reaches Helm and does just that."""
    if not (isinstance(base, Mapping) and isinstance(override, Mapping)):
        return override
    merged = dict(base)
    for key, value in override.items():
        if value is None and key in merged:
            del merged[key]
        else:
            merged[key] = merge_values(merged.get(key), value)
    return merged
