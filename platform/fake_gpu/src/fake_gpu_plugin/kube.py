"""Apply node labels through the Kubernetes API from inside a pod (stdlib only).

Uses the pod's service account (token and CA at the standard paths) and sends a JSON merge
patch to /api/v1/nodes/<name>, which needs RBAC `patch` on `nodes`.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeError(RuntimeError):
    pass


@dataclass(frozen=True)
class KubeApi:
    base_url: str  # https://host:port (http:// only for tests)
    token: str
    ssl_context: ssl.SSLContext | None = None

    @classmethod
    def in_cluster(cls, service_account: Path = SERVICE_ACCOUNT) -> KubeApi:
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise KubeError(
                "KUBERNETES_SERVICE_HOST is not set: not running in a pod; "
                "pass --no-label outside a cluster"
            )
        try:
            token = (service_account / "token").read_text().strip()
        except OSError as exc:
            raise KubeError(f"cannot read the service account token: {exc}") from exc
        context = ssl.create_default_context(cafile=str(service_account / "ca.crt"))
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return cls(base_url=f"https://{host}:{port}", token=token, ssl_context=context)

    def patch_node_labels(
        self, node_name: str, labels: dict[str, str], timeout: float = 10.0
    ) -> None:
        """Merge `labels` into the node's labels (other labels are left alone)."""
        url = urllib.parse.urlsplit(self.base_url)
        path = "/api/v1/nodes/" + urllib.parse.quote(node_name, safe="")
        body = json.dumps({"metadata": {"labels": labels}}).encode()
        connection: http.client.HTTPConnection
        if url.scheme == "https":
            connection = http.client.HTTPSConnection(
                url.netloc, timeout=timeout, context=self.ssl_context
            )
        else:
            connection = http.client.HTTPConnection(url.netloc, timeout=timeout)
        try:
            connection.request(
                "PATCH",
                path,
                body=body,
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/merge-patch+json",
                    "Accept": "application/json",
                },
            )
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        except OSError as exc:
            raise KubeError(f"PATCH {path} failed: {exc}") from exc
        finally:
            connection.close()
        if response.status >= 300:
            raise KubeError(f"PATCH {path} answered {response.status}: {text[:300]}")
