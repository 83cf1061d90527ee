"""The plans of `up` and `deploy`: pure functions from the model and the render to steps.

`up` runs two plans. `plan_host` (preflight, base image, registry, kind cluster) needs only
the kind config; once the cluster exists the host's facts are complete (the kind network's
subnet), the env is rendered once, and `plan_up` brings the cluster to the render: registry
wiring, project images, components in dependency order, services, summary. `plan_deploy` is
the same plan filtered to one service. Each step carries its action and the hash of its inputs;
nothing here talks to Docker or a cluster (files of the checkout are read for image tags).
"""

from __future__ import annotations

from pathlib import Path

from streamforge.errors import StreamforgeError
from streamforge.model import facts
from streamforge.model.load import Platform
from streamforge.model.pins import pins
from streamforge.model.schema.provider import KindProvider
from streamforge.plan.actions import (
    BuildBase,
    CreateCluster,
    InstallComponent,
    InstallService,
    Preflight,
    PushDocsSite,
    PushImage,
    StartRegistry,
    Summary,
    WireRegistry,
    WriteFiles,
)
from streamforge.plan.steps import Step, digest
from streamforge.render import image_refs, mirrors, services
from streamforge.render.context import Rendered
from streamforge.render.summary import summary_lines


def kind_provider(platform: Platform) -> KindProvider:
    """The env's kind provider. Raises StreamforgeError for an env ArgoCD converges."""
    provider = platform.env.provider
    if not isinstance(provider, KindProvider):
        raise StreamforgeError(
            f"env '{platform.env.name}' is not a kind replica; it is converged by ArgoCD "
            f"from `nox -s render -- --env {platform.env.name}` output"
        )
    return provider


def workdir(platform: Platform) -> Path:
    """The env's folder for what `up` writes: .streamforge/<env> in the checkout."""
    return platform.root / ".streamforge" / platform.env.name


def shared_dir(provider: KindProvider) -> Path:
    """The host folder behind the replica's RWX class: provider.shared_dir, `~` expanded,
    absolute."""
    return Path(provider.shared_dir).expanduser().resolve()


def base_step(platform: Platform) -> Step:
    """The unified base image every project image is built FROM."""
    return Step(
        "base-image",
        "build the unified base image (platform/Dockerfile)",
        BuildBase(image_refs.base_image(platform.root)),
        host=True,
    )


def plan_host(platform: Platform, kind_config: str) -> list[Step]:
    """Preflight, the base image, the registry (image cache) and the kind cluster created from
    `kind_config` (YAML text): what must exist before the env can be rendered with facts. The
    cluster records the config it was created from; `up` compares it with `kind_config`."""
    provider = kind_provider(platform)
    return [
        Step("preflight", "check Docker and the pinned tools", Preflight(platform.left_out)),
        base_step(platform),
        Step(
            "registry",
            f"local registry (the image cache) on 127.0.0.1:{provider.registry_port}",
            StartRegistry(pins().images["registry"], provider.registry_port),
            host=True,
        ),
        Step(
            "cluster",
            f"kind cluster '{provider.cluster_name}' ({len(provider.mirror_nodes)} "
            "workers standing for homelab nodes)",
            CreateCluster(provider.cluster_name, kind_config, str(shared_dir(provider))),
            host=True,
        ),
    ]


def plan_up(platform: Platform, rendered: Rendered) -> list[Step]:
    """The cluster-side steps that bring the replica to `rendered`, in order."""
    provider = kind_provider(platform)
    base = image_refs.base_image(platform.root)
    files = mirrors.node_files(platform, rendered)
    folder = workdir(platform) / "rendered"
    steps = [
        Step(
            "rendered-files",
            f"write the rendered files for you to read ({folder.relative_to(platform.root)})",
            WriteFiles(folder, rendered.files),
            inputs=digest(rendered.files),
        ),
        Step(
            "registry-wiring",
            "point every node's containerd at the image cache (certs.d/*/hosts.toml)",
            WireRegistry(provider.cluster_name, files, provider.registry_port),
            inputs=digest(rendered.files.get("kind-config.yaml"), files, provider.registry_port),
            needs=("registry", "cluster"),
        ),
    ]
    for image, ref in image_refs.project_images(platform).items():
        source, dockerfile = image_refs.PROJECT_IMAGES[image]
        context = platform.root / source
        action = PushImage(ref, context, context / dockerfile, base)
        steps.append(Step(f"image:{image}", f"build and push {image}", action, inputs=ref))
    if "docs-site" in platform.enabled:
        ref = image_refs.site_image(platform)
        steps.append(
            Step(
                "image:docs-site",
                "build the docs site and its image",
                PushDocsSite(ref, base),
                inputs=ref,
            )
        )
    steps += [component_step(platform, rendered, name) for name in platform.enabled]
    steps += [service_step(platform, name, base) for name in sorted(platform.services)]
    steps.append(Step("summary", "where everything is", Summary(summary_lines(platform, rendered))))
    return steps


def component_step(platform: Platform, rendered: Rendered, name: str) -> Step:
    """A component's namespace, helm release and objects, hashed by all of them."""
    comp = platform.components[name]
    values = rendered.values.get(name) or {}
    objects = rendered.objects.get(name) or []
    what = f"helm {comp.chart.name} {comp.chart.version}" if comp.chart else "manifests"
    action = InstallComponent(
        name=name,
        namespace=comp.namespace,
        labels=comp.namespace_labels,
        chart=comp.chart,
        values=values,
        objects=objects,
        wait_seconds=comp.wait_seconds,
        restarts=tuple(comp.restarts),
    )
    inputs = digest(comp.model_dump(), comp.namespace_labels, rendered.values.get(name), objects)
    return Step(f"component:{name}", f"{name} ({what}) in {comp.namespace}", action, inputs)


def service_step(platform: Platform, name: str, base: str) -> Step:
    """A service's image FROM `base`, pushed, and its common-chart release."""
    root = platform.root
    ref = image_refs.service_image(platform, name)
    values = services.chart_values(platform, platform.services[name])
    image = PushImage(ref, root, root / "services" / name / "Dockerfile", base)
    url = f"https://{platform.services[name].hostname}.{platform.env.domain}"
    namespace = facts.kafka(platform).namespace  # services run beside their Kafka cluster
    action = InstallService(name, image, root / services.CHART, namespace, values, url)
    return Step(
        f"service:{name}",
        f"service {name}: build, push, install the common chart in {namespace}",
        action,
        # the common chart is part of what a service's release is made from
        inputs=digest(values, base, ref, image_refs.tree_hash(root / services.CHART)),
    )


def plan_deploy(platform: Platform, service: str) -> list[Step]:
    """`deploy <service>`: `up`'s base-image and service steps, built by the same functions."""
    kind_provider(platform)
    base = image_refs.base_image(platform.root)
    return [base_step(platform), service_step(platform, service, base)]
