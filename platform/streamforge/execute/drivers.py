"""The drivers that carry out the plan's actions for one kind replica: Docker (preflight,
images), the registry, kind, helm and kubectl. Each tool is resolved when an action first
needs it (kubectl once the cluster's API is), so a plan can be printed without any, and
`status` and `down` (allow_download=False) never download one."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import assert_never

from streamforge import console
from streamforge.errors import StreamforgeError
from streamforge.execute import docker_host, images, registry
from streamforge.execute.kind import KindCluster
from streamforge.execute.kube import Kube
from streamforge.execute.releases import Releases
from streamforge.execute.tools import Resolved, ToolError, resolve
from streamforge.model.load import Platform
from streamforge.plan.actions import (
    Action,
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
from streamforge.plan.up import kind_provider, workdir
from streamforge.render.context import Rendered
from streamforge.render.output import write, written_drift


class Drivers:
    """Run, look for (`present`, host-side actions) and check (`check`) each action."""

    def __init__(self, platform: Platform, *, allow_download: bool = True) -> None:
        self.platform = platform
        self.provider = kind_provider(platform)
        self.name = self.provider.cluster_name
        self.context = f"kind-{self.name}"
        self.workdir = workdir(platform)
        self.allow_download = allow_download  # False: `status` and `down` work offline
        self.tools: dict[str, Resolved] = {}

    def tool(self, name: str) -> Resolved:
        """kind, helm or kubectl: resolved once (downloaded, checksum-verified, if needed and
        allowed). Raises ToolError naming the override variable when it cannot be had."""
        if name not in self.tools:
            self.tools[name] = resolve(name, allow_download=self.allow_download)
        return self.tools[name]

    def use_local(self, name: str) -> bool:
        """Use a `name` binary already on this machine (override, PATH, cache), never a
        download; False if there is none. Inspecting or removing a replica works offline."""
        try:
            self.tools[name] = resolve(name, allow_download=False)
        except ToolError:
            return False
        return True

    @cached_property
    def kube(self) -> Kube:
        return Kube(self.tool("kubectl"), self.context)

    @cached_property
    def cluster(self) -> KindCluster:
        env_file = f"envs/{self.platform.env.name}.yaml"
        return KindCluster(self.tool("kind"), self.name, lambda: self.kube, env_file, self.workdir)

    @cached_property
    def releases(self) -> Releases:
        return Releases(self.tool("helm"), self.kube)

    def run(self, step: str, action: Action) -> None:
        root = self.platform.root
        match action:
            case Preflight():
                self.preflight(action)
            case BuildBase():
                images.build_base(root)
            case StartRegistry():
                registry.start_registry(action.image, action.port, data_dir=registry.image_cache())
            case CreateCluster():
                Path(action.shared_dir).mkdir(parents=True, exist_ok=True)
                self.cluster.create(action.config)
            case WriteFiles():
                write(Rendered(files=action.files), action.folder, root)
            case WireRegistry():
                hosting = registry.wire(self.cluster.nodes(), action.files, action.port)
                self.kube.apply("registry-wiring", hosting)
            case PushImage():
                images.push_image(step, action)
            case PushDocsSite():
                images.push_docs_site(root, action)
            case InstallComponent():
                self.releases.install_component(action)
            case InstallService():
                self.install_service(action)
            case Summary():
                for line in action.lines:
                    console.info(line)
            case _:
                assert_never(action)

    def present(self, action: Action) -> bool:
        """Host-side actions: is the thing there in Docker? Raises TypeError for others."""
        match action:
            case BuildBase():
                return docker_host.image_exists(action.tag)
            case StartRegistry():
                return registry.cache_registry_running()
            case CreateCluster():
                return self.cluster.exists()
        raise TypeError(f"{type(action).__name__} is not a host-side action")

    def check(self, action: Action) -> str | None:
        """None when the real thing is as the action left it, else what drifted. Raises
        StreamforgeError for a cluster created from another kind config: recreating it
        deletes its data, so `up` stops and says how."""
        port = self.provider.registry_port
        match action:
            case CreateCluster():
                self.cluster.check_config(action.config)  # raises: recreating is the user's call
                return None
            case WriteFiles():
                return written_drift(action.folder, action.files)
            case WireRegistry():
                return registry.wiring_drift(self.cluster.nodes(), action.files)
            case PushImage() | PushDocsSite():
                return registry.image_drift(action.ref, port)
            case InstallComponent():
                return self.releases.component_drift(action)
            case InstallService():
                image = registry.image_drift(action.image.ref, port)
                return image or self.releases.service_drift(action)
            case Preflight() | BuildBase() | StartRegistry() | Summary():
                return None
            case _:
                assert_never(action)

    def preflight(self, action: Preflight) -> None:
        console.info(f"docker engine {docker_host.check_engine()}")
        for name in ("kind", "helm", "kubectl"):
            console.info(f"using {self.tool(name)}")
        for name, reason in action.left_out.items():
            console.info(f"left out in env '{self.platform.env.name}': {name}: {reason}")

    def install_service(self, action: InstallService) -> None:
        """Build and push the service's image, then install its release."""
        images.push_image(f"service:{action.name}", action.image)
        self.releases.install_service(action)
        console.info(f"{action.name}: {action.url}")

    def load_state(self) -> dict[str, str]:
        """What earlier runs recorded in the cluster ({} when there is no cluster yet).
        Raises StreamforgeError for a same-named cluster StreamForge did not create, rather
        than install into it."""
        if not self.cluster.exists():
            return {}
        found = self.kube.read_state()
        if found is None:
            raise StreamforgeError(
                f"a kind cluster named '{self.name}' exists but has no StreamForge marker "
                f"(ConfigMap kube-system/streamforge-state); delete it (`kind delete cluster "
                f"--name {self.name}`) or set provider.cluster_name in envs/local.yaml"
            )
        return found
