"""The plan that brings up (or converges) the local kind replica, and the steps of `down`."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from functools import cached_property, partial
from pathlib import Path

from streamforge import console, run
from streamforge.commands import docs_gen
from streamforge.commands.offline import cache_registry_running, image_cache
from streamforge.errors import StreamforgeError
from streamforge.execute import charts, docker_host
from streamforge.execute.build import build_image
from streamforge.execute.helm import helm, recover_interrupted
from streamforge.execute.kube import Kube
from streamforge.execute.tools import Resolved, resolve
from streamforge.model.load import Platform, load_platform
from streamforge.model.pins import pins
from streamforge.model.schema import KindProvider
from streamforge.plan.steps import State, Step, digest
from streamforge.render import image_refs, mirrors
from streamforge.render.context import Facts, Rendered, dump
from streamforge.render.env import render
from streamforge.render.output import write

# Project images the replica builds: name -> (build context, Dockerfile in it)
PROJECT_IMAGES = {"fake-gpu-plugin": ("platform/fake_gpu", "Dockerfile")}


class Replica:
    def __init__(self, platform: Platform) -> None:
        if not isinstance(platform.env.provider, KindProvider):
            raise StreamforgeError(
                f"env '{platform.env.name}' is not a kind replica; it is converged by ArgoCD "
                f"from `nox -s render -- --env {platform.env.name}` output"
            )
        self.platform = platform
        self.provider: KindProvider = platform.env.provider
        self.name = self.provider.cluster_name
        self.context = f"kind-{self.name}"
        self.workdir = platform.root / ".streamforge" / platform.env.name
        self.state = State()

    # -- tools, resolved on first use so --dry-run needs none of them --------------------
    @cached_property
    def kind(self) -> Resolved:
        return resolve("kind")

    @cached_property
    def helm(self) -> Resolved:
        return resolve("helm")

    @cached_property
    def kubectl(self) -> Resolved:
        return resolve("kubectl")

    @cached_property
    def kube(self) -> Kube:
        return Kube(self.kubectl, self.context)

    @cached_property
    def rwx_host_dir(self) -> Path:
        return Path(self.provider.shared_dir).expanduser().resolve()

    @cached_property
    def host_facts(self) -> Facts:
        """The facts known before the cluster exists: cgroup version, node image, RWX folder."""
        return Facts(
            rwx_host_dir=str(self.rwx_host_dir),
            cgroup_version=docker_host.cgroup_version() or 2,
            node_image=docker_host.node_image_override(),
        )

    @cached_property
    def facts(self) -> Facts:
        """This machine's facts; read once kind has made its docker network."""
        subnet = docker_host.kind_subnet()
        return replace(self.host_facts, kind_subnet=subnet) if subnet else self.host_facts

    @cached_property
    def rendered(self) -> Rendered:
        """The env rendered with this machine's facts, also written for the user to read."""
        rendered = render(self.platform, self.facts)
        write(rendered, self.workdir / "rendered", self.platform.root)
        return rendered

    # -- the plan --------------------------------------------------------------------------
    def steps(self) -> list[Step]:
        root = self.platform.root
        steps = [
            Step("preflight", "check Docker and the pinned tools", self.preflight),
            Step(
                "base-image",
                "build the unified base image (platform/Dockerfile)",
                self.build_base,
                present=lambda: docker_host.image_exists(self.base_tag),
            ),
            Step(
                "registry",
                f"local registry (the image cache) on 127.0.0.1:{self.provider.registry_port}",
                self.start_registry,
                present=cache_registry_running,
            ),
            Step(
                "cluster",
                f"kind cluster '{self.name}' ({len(self.provider.mirror_nodes)} "
                "workers standing for homelab nodes)",
                self.create_cluster,
                present=self.cluster_exists,
            ),
            Step(
                "registry-wiring",
                "point every node's containerd at the image cache (certs.d/*/hosts.toml)",
                self.wire_registry,
                inputs=lambda: digest(self.node_containers(), self.node_files()),
                check=self.wiring_drift,
                needs=("registry", "cluster"),
            ),
        ]
        for image, (source, _) in PROJECT_IMAGES.items():
            if (root / source).is_dir():
                steps.append(
                    Step(
                        f"image:{image}",
                        f"build and push {image}",
                        partial(self.push_image, image),
                        inputs=partial(self.image_ref, image),
                        check=partial(self.project_image_drift, image),
                    )
                )
        if "docs-site" in self.platform.enabled:
            steps.append(
                Step(
                    "image:docs-site",
                    "build the docs site and its image",
                    self.push_docs_site,
                    inputs=self.site_ref,
                    check=lambda: self.image_drift(self.site_ref()),
                )
            )
        for name in self.platform.enabled:
            comp = self.platform.components[name]
            what = f"helm {comp.chart.name} {comp.chart.version}" if comp.chart else "manifests"
            steps.append(
                Step(
                    f"component:{name}",
                    f"{name} ({what}) in {comp.namespace}",
                    partial(self.install, name),
                    inputs=partial(self.component_hash, name),
                    check=partial(self.component_drift, name),
                )
            )
        from streamforge.commands import deploy

        steps.extend(deploy.replica_steps(self))
        steps.append(Step("summary", "where everything is", self.summary))
        return steps

    # -- host side -------------------------------------------------------------------------
    def preflight(self) -> None:
        console.info(f"docker engine {docker_host.check_engine()}")
        for tool in (self.kind, self.helm, self.kubectl):
            console.info(f"using {tool}")
        for name, reason in self.platform.left_out.items():
            console.info(f"left out in env '{self.platform.env.name}': {name}: {reason}")

    @cached_property
    def base_tag(self) -> str:
        return image_refs.base_image(self.platform.root)

    def build_base(self) -> None:
        from streamforge.commands import deploy

        deploy.build_base(self.platform.root)

    def start_registry(self) -> None:
        docker_host.start_registry(
            pins().images["registry"], self.provider.registry_port, data_dir=image_cache()
        )

    def cluster_exists(self) -> bool:
        out = run.capture([*self.kind.command, "get", "clusters"])
        return self.name in out.stdout.split()

    def create_cluster(self) -> None:
        self.rwx_host_dir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "kind-config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        from streamforge.render import kind as kind_render

        config.write_text(kind_render.render(self.platform, self.host_facts))
        run.run(
            "cluster",
            [
                *self.kind.command,
                "create",
                "cluster",
                "--name",
                self.name,
                "--config",
                str(config),
                "--wait",
                "120s",
            ],
            "see `nox -s doctor` (memory, inotify limits, free ports 80/443)",
        )
        # the ownership marker `down` looks for
        self.kube.write_state({})

    def node_containers(self) -> list[str]:
        out = run.capture([*self.kind.command, "get", "nodes", "--name", self.name])
        return sorted(out.stdout.split())

    def node_files(self) -> dict[str, str]:
        """{path in a node: text}: the rendered hosts.toml files and the env mirrors' CAs."""
        from streamforge.model.load import mirror_ca
        from streamforge.render.mirrors import CERTS_D, RENDER_DIR, ca_path

        files = {
            str(CERTS_D / rel[len(RENDER_DIR) + 1 :]): text
            for rel, text in self.rendered.files.items()
            if rel.startswith(RENDER_DIR + "/")
        }
        for registry, mirror in self.provider.mirrors.items():
            if mirror.ca_file:
                ca = mirror_ca(self.platform.root, mirror.ca_file)
                files[str(ca_path(registry))] = ca.read_text()
        return files

    def wire_registry(self) -> None:
        """kind's local-registry recipe, for every upstream registry: certs.d on each node
        (containerd reads it on every pull, no restart), network, KEP-1755 ConfigMap."""
        docker_host.connect_registry()
        port = self.provider.registry_port
        script = mirrors.write_script(self.node_files())
        for node in self.node_containers():
            run.run(
                "registry-wiring",
                ["docker", "exec", "-i", node, "sh"],
                "is the node container running? `docker ps`",
                stdin=script,
                quiet=True,
            )
        hosting = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
            "data": {
                "localRegistryHosting.v1": dump(
                    {
                        "host": f"localhost:{port}",
                        "help": "https://kind.sigs.k8s.io/docs/user/local-registry/",
                    }
                )
            },
        }
        self.kube.apply("registry-wiring", json.dumps(hosting))

    def wiring_drift(self) -> str | None:
        """None when the registry is on the kind network and every node has the rendered
        certs.d files (checked by their SHA-256 in one `docker exec` per node)."""
        drift = docker_host.registry_network_drift()
        if drift:
            return drift
        import hashlib

        files = self.node_files()
        for node in self.node_containers():
            found = run.capture(["docker", "exec", node, "sha256sum", *sorted(files)])
            # sha256sum prints `<hex>  <path>`; an absent file only on stderr
            sums = {
                path: hexdigest
                for hexdigest, _, path in (ln.partition("  ") for ln in found.stdout.splitlines())
            }
            for path, text in files.items():
                if sums.get(path) != hashlib.sha256(text.encode()).hexdigest():
                    return f"node {node} lacks the registry configuration {path}"
        return None

    def project_image_drift(self, image: str) -> str | None:
        return self.image_drift(self.image_ref(image))

    def image_drift(self, ref: str) -> str | None:
        """None when the local registry holds the project image `ref`."""
        return docker_host.image_drift(ref, self.provider.registry_port)

    def component_drift(self, name: str) -> str | None:
        """None when the component's helm release is deployed with its workloads ready and
        every object it applies is in the cluster; else what drifted."""
        from streamforge.execute.helm import release_drift

        comp = self.platform.components[name]
        if comp.chart:
            drift = release_drift(self.helm, self.kube, name, comp.namespace)
            if drift:
                return drift
        gone = self.kube.missing(self.rendered.objects.get(name) or [])
        return f"{', '.join(gone[:3])} missing" if gone else None

    def site_ref(self) -> str:
        return image_refs.site_image(self.platform)

    def image_ref(self, image: str) -> str:
        return image_refs.project_image(
            self.platform, image, self.platform.root / PROJECT_IMAGES[image][0]
        )

    def push_image(self, image: str) -> None:
        root = self.platform.root
        ref = self.image_ref(image)
        context, dockerfile = PROJECT_IMAGES[image]
        build_image(
            f"image:{image}",
            root / context,
            root / context / dockerfile,
            [ref],
            {"BASE_IMAGE": self.base_tag},
            docker_host.MANAGED,
        )
        docker_host.push(f"image:{image}", ref)

    def push_docs_site(self) -> None:
        """Build the site (strict) unless it is current, then its image FROM the base image."""
        root = self.platform.root
        step = "image:docs-site"
        try:
            site = docs_gen.built_site(root)
        except StreamforgeError:
            run.run(
                step,
                [sys.executable, "-m", "mkdocs", "build", "--strict"],
                "fix the docs build error above (`nox -s docs` shows the same); mkdocs comes "
                "with `pip install -e .[docs]`",
                env={"NO_MKDOCS_2_WARNING": "1"},
            )
            site = docs_gen.built_site(root)
        ref = self.site_ref()
        build_image(
            step,
            site,
            root / "platform" / "docs-site" / "Dockerfile",
            [ref],
            {"BASE_IMAGE": self.base_tag},
            docker_host.MANAGED,
        )
        docker_host.push(step, ref)

    # -- cluster side ----------------------------------------------------------------------
    def load_state(self) -> None:
        """Read what earlier runs recorded; refuse a same-named cluster StreamForge did not
        create, rather than install into it."""
        recorded: dict[str, str] = {}
        if self.cluster_exists():
            found = self.kube.read_state()
            if found is None:
                raise StreamforgeError(
                    f"a kind cluster named '{self.name}' exists but has no StreamForge marker "
                    f"(ConfigMap kube-system/streamforge-state); delete it (`kind delete cluster "
                    f"--name {self.name}`) or set provider.cluster_name in envs/local.yaml"
                )
            recorded = found
        self.state = State(recorded, save=self.kube.write_state)

    def component_hash(self, name: str) -> str:
        comp = self.platform.components[name]
        return digest(
            comp.model_dump(),
            comp.namespace_labels,
            self.rendered.values.get(name),
            self.rendered.objects.get(name),
        )

    def install(self, name: str) -> None:
        comp = self.platform.components[name]
        step = f"component:{name}"
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": comp.namespace, "labels": comp.namespace_labels},
        }
        self.kube.apply(step, json.dumps(namespace))
        if comp.chart:
            values = self.workdir / "rendered" / "values" / f"{name}.yaml"
            # from the chart cache, pulled only if it is not there yet
            chart_file = charts.ensure(self.helm, comp.chart, step)
            recover_interrupted(self.helm, step, name, comp.namespace, self.context)
            helm(
                self.helm,
                step,
                [
                    "upgrade",
                    "--install",
                    name,
                    str(chart_file),
                    "--namespace",
                    comp.namespace,
                    "--values",
                    str(values),
                    "--kube-context",
                    self.context,
                    "--wait",
                    "--timeout",
                    f"{comp.wait_seconds}s",
                ],
                f"inspect with `kubectl --context {self.context} -n {comp.namespace} get pods`",
            )
        objects = self.rendered.objects.get(name) or []
        if objects:
            self.kube.apply(
                step,
                json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}),
                timeout=comp.wait_seconds,
            )
        for workload in comp.restarts:
            ns, kind, workload_name = workload.split("/")
            target = f"{kind}/{workload_name}"
            if self.kube.query("get", "-n", ns, target, "-o", "name") is None:
                console.info(f"no {ns}/{target} in this cluster: nothing to restart")
                continue
            hint = f"inspect with `kubectl --context {self.context} -n {ns} get pods`"
            self.kube(step, "rollout", "restart", "-n", ns, target, fix=hint, quiet=True)
            self.kube(
                step,
                "rollout",
                "status",
                "-n",
                ns,
                target,
                f"--timeout={comp.wait_seconds}s",
                fix=hint,
                quiet=True,
            )

    def summary(self) -> None:
        from streamforge.commands import hosts
        from streamforge.render.context import addresses

        console.info(f"cluster: kind-{self.name} (kubectl --context {self.context} get nodes)")
        console.info(f"registry: localhost:{self.provider.registry_port}")
        homelab = load_platform(self.platform.root, "homelab").env.network
        found = addresses(self.platform, self.facts)
        console.info(
            f"Traefik: {found.ingress_address} (stands for {homelab.ingress_address}); "
            f"ingress-nginx: {found.backup_ingress_address} "
            f"(stands for {homelab.backup_ingress_address})"
        )
        for name in hosts.hostnames(self.platform, self.rendered):
            console.info(f"https://{name}")
        console.info(
            "names: `nox -s hosts` (add -- --apply to write /etc/hosts); CA for your "
            "browser: `nox -s ca`"
        )
        console.info(
            "next: `nox -s status`, `nox -s new_service -- --name <name>`, "
            "`nox -s deploy -- <name>`"
        )

    # -- down ------------------------------------------------------------------------------
    def down(self) -> None:
        """Delete what `up` created: the kind cluster (its node containers and their volumes)
        and the registry container (and its anonymous volumes); say what was removed and what
        stays on purpose (the caches)."""
        if self.cluster_exists():
            if self.kube.read_state() is None:
                raise StreamforgeError(
                    f"kind cluster '{self.name}' has no StreamForge marker (ConfigMap "
                    "kube-system/streamforge-state), so it was not created by this project; "
                    f"leaving it. Delete it yourself with `kind delete cluster --name {self.name}`"
                )
            nodes = docker_host.kind_node_containers(self.name)
            volumes = [v for node in nodes for v in docker_host.anonymous_volumes(node)]
            console.step(f"deleting kind cluster '{self.name}'")
            run.run(
                "down",
                [*self.kind.command, "delete", "cluster", "--name", self.name],
                "retry; `docker ps` shows what is left",
            )
            docker_host.remove_volumes(volumes)  # kind removes them; make sure of it
            console.info(
                f"removed kind cluster '{self.name}': node containers {', '.join(nodes)} and "
                f"their {len(volumes)} volume(s)"
            )
        else:
            console.info(f"no kind cluster named '{self.name}'")
        self.remove_registry_and_report()

    def remove_registry_and_report(self) -> None:
        if docker_host.remove_registry():
            console.info(f"removed container {docker_host.REGISTRY}")
        else:
            console.info(f"no registry container {docker_host.REGISTRY} of this project")
        from streamforge.execute.charts import chart_cache

        console.info(
            f"kept on purpose: the image cache {image_cache()} and the chart cache "
            f"{chart_cache()} (the next `up` needs no download; delete the folders to free "
            "the space); the docker network 'kind' (kind's, shared by every kind cluster)"
        )
