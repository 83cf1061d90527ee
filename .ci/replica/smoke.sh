#!/usr/bin/env bash
# Smoke test of .ci/replica/build.sh's images: a 2-node kind cluster from the node image, through
# the docker wrapper; nodes Ready and kube-system pods Ready; then a Traefik and a MetalLB
# controller pod from images side-loaded with `kind load docker-image`; then the cluster is
# deleted. kubectl runs inside the control-plane node (the node image has it).
# Usage: .ci/replica/smoke.sh [CLUSTER_NAME]   (kind from PATH or ~/.cache/streamforge/ci-bin)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=.ci/replica/lib.sh
source "$here/lib.sh"
name="${1:-ci-replica-smoke}"
export PATH="$here/bin:$PATH:$HOME/.cache/streamforge/ci-bin"
tmp="$(mktemp -d)"
cleanup() {
  kind delete cluster --name "$name" --kubeconfig "$tmp/kubeconfig" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
node_ref="$(ref_of node)"
traefik_ref="$(ref_of traefik)"
metallb_ref="$(ref_of metallb-controller)"

cat > "$tmp/kind.yaml" <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    image: $node_ref
  - role: worker
    image: $node_ref
# kubelet 1.36 refuses cgroup v1 hosts unless told otherwise
kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    failCgroupV1: false
EOF
kubectl() { docker exec "$name-control-plane" kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

kind create cluster --name "$name" --config "$tmp/kind.yaml" --kubeconfig "$tmp/kubeconfig"
step "kind create cluster"
kubectl wait --for=condition=Ready nodes --all --timeout=180s
step "nodes Ready"
kubectl -n kube-system wait --for=condition=Ready pods --all --timeout=180s
kubectl get nodes -o wide
kubectl get pods -A -o wide
step "kube-system pods Ready"

kind load docker-image --name "$name" "$traefik_ref" "$metallb_ref"
step "kind load docker-image"
kubectl run traefik-version --image="$traefik_ref" --image-pull-policy=Never --restart=Never -- version
kubectl run metallb-controller --image="$metallb_ref" --image-pull-policy=Never --restart=Never
kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/traefik-version --timeout=120s
out="$(kubectl logs traefik-version)"
printf '%s\n' "$out"
grep -q "Version: *${traefik_ref##*:}" <<<"$out" || die "traefik does not report ${traefik_ref##*:}"
# the controller logs its version on start, then keeps running (or fails on missing RBAC)
for _ in $(seq 60); do
  out="$(kubectl logs metallb-controller 2>/dev/null || true)"
  grep -q '"version":"' <<<"$out" && break
  sleep 2
done
printf '%s\n' "$out" | head -n 3
grep -q "\"version\":\"${metallb_ref##*:v}\"" <<<"$out" || die "metallb controller did not start"
step "traefik and metallb controller pods ran"
kind delete cluster --name "$name" --kubeconfig "$tmp/kubeconfig"
step "kind delete cluster"
