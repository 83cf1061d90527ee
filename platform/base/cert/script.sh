#!/usr/bin/env bash
# Issue a TLS certificate from the cluster's cert-manager CA (seed 5.5), or verify PEM files.
# The private key is made here and never leaves this machine: only the CSR goes to the cluster.
set -euo pipefail

PROG="cert/script.sh"

usage() {
  cat <<'EOF'
Usage:
  script.sh [request] --name NAME --namespace NS (--dns FQDN | --ip ADDR)... [options]
  script.sh verify --out DIR [--dns FQDN]... [--ip ADDR]...

request (default): make a private key and a CSR with the given SANs, submit a cert-manager
CertificateRequest, wait until it is Ready, then write DIR/tls.key (mode 600), DIR/tls.crt and
DIR/ca.crt and verify them. Nothing is written unless every step succeeds.

verify: check existing PEM files in DIR: the certificate matches the key, it has not expired,
the SANs given with --dns/--ip are present, and the chain verifies against ca.crt.

Options:
  --name NAME          CertificateRequest name (lowercase letters, digits, '-')
  --namespace NS       namespace of the CertificateRequest
  --dns FQDN           DNS SAN; repeat or separate with commas (wildcards like *.dmz.home ok)
  --ip ADDR            IPv4 SAN; repeat or separate with commas
  --issuer NAME        issuer name (default homelab-ca-issuer)
  --issuer-kind KIND   ClusterIssuer or Issuer (default ClusterIssuer)
  --out DIR            output directory (default ./NAME)
  --force              replace tls.key/tls.crt/ca.crt already in DIR
  --key-algorithm ALG  rsa or ecdsa (default rsa)
  --key-size N         rsa: 2048, 3072, 4096 (default 2048); ecdsa: 256 or 384 (default 256)
  --duration D         requested lifetime, e.g. 2160h (default 2160h = 90 days, minimum 1h)
  --timeout SECONDS    how long to wait for Ready (default 120)
  --context CTX        kubectl context (default: the current one)
  --dry-run            print the CertificateRequest YAML, touch no cluster, write no files
  -h, --help           this help

Needs openssl and base64; request also needs kubectl.
EOF
}

die() {
  echo "$PROG: error: $*" >&2
  exit 2
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed; install it (it is needed for $2)"
}

# --- parameters -----------------------------------------------------------------------------
mode=request
name="" namespace="" issuer="homelab-ca-issuer" issuer_kind="ClusterIssuer" out=""
key_alg="rsa" key_size="" duration="2160h" timeout=120 context="" dry_run=0 force=0
dns=() ips=()

if [[ $# -gt 0 && ( $1 == request || $1 == verify ) ]]; then
  mode=$1
  shift
fi

value() { # value FLAG NEXT: the flag's argument, or a clear error when it is missing
  [[ -n ${2-} && ${2:0:2} != "--" ]] || die "$1 needs a value; see --help"
  printf '%s' "$2"
}

while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --name) name=$(value "$1" "${2-}"); shift 2 ;;
    --namespace) namespace=$(value "$1" "${2-}"); shift 2 ;;
    --dns) IFS=, read -r -a parts <<<"$(value "$1" "${2-}")"; dns+=("${parts[@]}"); shift 2 ;;
    --ip) IFS=, read -r -a parts <<<"$(value "$1" "${2-}")"; ips+=("${parts[@]}"); shift 2 ;;
    --issuer) issuer=$(value "$1" "${2-}"); shift 2 ;;
    --issuer-kind) issuer_kind=$(value "$1" "${2-}"); shift 2 ;;
    --out) out=$(value "$1" "${2-}"); shift 2 ;;
    --key-algorithm) key_alg=$(value "$1" "${2-}"); shift 2 ;;
    --key-size) key_size=$(value "$1" "${2-}"); shift 2 ;;
    --duration) duration=$(value "$1" "${2-}"); shift 2 ;;
    --timeout) timeout=$(value "$1" "${2-}"); shift 2 ;;
    --context) context=$(value "$1" "${2-}"); shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --force) force=1; shift ;;
    *) die "unknown parameter '$1'; see --help" ;;
  esac
done

LABEL='[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?'
check_dns() {
  local d=$1
  [[ $d =~ ^(\*\.)?$LABEL(\.$LABEL)*$ && ${#d} -le 253 ]] ||
    die "--dns '$d' is not a DNS name; write it like kafka-ui.dmz.home (lowercase)"
}
check_ip() {
  local ip=$1 octet
  [[ $ip =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
    die "--ip '$ip' is not an IPv4 address; write it like 192.168.1.153"
  for octet in "${BASH_REMATCH[@]:1}"; do
    ((10#$octet <= 255)) || die "--ip '$ip' has an octet above 255; write it like 192.168.1.153"
  done
}
for d in "${dns[@]}"; do check_dns "$d"; done
for ip in "${ips[@]}"; do check_ip "$ip"; done
need openssl "keys, CSRs and verification"

# --- verify ---------------------------------------------------------------------------------
# verify_dir DIR: every check on tls.key/tls.crt/ca.crt in DIR; dies naming the first failure
verify_dir() {
  local dir=$1 f sans want
  for f in tls.key tls.crt ca.crt; do
    [[ -s $dir/$f ]] || die "--out: $dir/$f is missing or empty; point --out at the folder with it"
  done
  openssl x509 -in "$dir/tls.crt" -noout 2>/dev/null || die "$dir/tls.crt is not a PEM certificate"
  openssl pkey -in "$dir/tls.key" -noout 2>/dev/null || die "$dir/tls.key is not a PEM private key"
  [[ "$(openssl x509 -in "$dir/tls.crt" -noout -pubkey)" == "$(openssl pkey -in "$dir/tls.key" -pubout)" ]] ||
    die "$dir/tls.crt does not match $dir/tls.key; re-issue the certificate for this key"
  openssl x509 -in "$dir/tls.crt" -noout -checkend 0 >/dev/null ||
    die "$dir/tls.crt has expired; issue a new one"
  sans=$(openssl x509 -in "$dir/tls.crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')
  for want in "${dns[@]/#/DNS:}" "${ips[@]/#/IPAddress:}"; do
    [[ ",$sans," == *",$want,"* ]] ||
      die "SAN ${want/IPAddress/IP} is missing from $dir/tls.crt (it has: ${sans:-none}); request it with that SAN"
  done
  openssl verify -CAfile "$dir/ca.crt" -untrusted "$dir/tls.crt" "$dir/tls.crt" >/dev/null 2>&1 ||
    die "$dir/tls.crt does not verify against $dir/ca.crt; fetch the CA of the issuer that signed it"
  echo "ok: $dir/tls.crt matches its key, is valid, has SANs ${sans:-none} and verifies against ca.crt"
}

if [[ $mode == verify ]]; then
  [[ -n $out ]] || die "--out is required for verify; pass the folder with tls.key, tls.crt, ca.crt"
  verify_dir "$out"
  exit 0
fi

# --- request --------------------------------------------------------------------------------
[[ -n $name ]] || die "--name is required; pass e.g. --name kafka-ui-tls"
[[ $name =~ ^$LABEL$ ]] || die "--name '$name' must be lowercase letters, digits and '-'"
[[ -n $namespace ]] || die "--namespace is required; pass the namespace of the service"
[[ $namespace =~ ^$LABEL$ ]] || die "--namespace '$namespace' must be lowercase letters, digits and '-'"
((${#dns[@]} + ${#ips[@]} > 0)) || die "no SANs; pass at least one --dns or --ip"
[[ $issuer =~ ^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$ ]] || die "--issuer '$issuer' is not a resource name"
[[ $issuer_kind == ClusterIssuer || $issuer_kind == Issuer ]] ||
  die "--issuer-kind '$issuer_kind' must be ClusterIssuer or Issuer"
case $key_alg in
  rsa) key_size=${key_size:-2048}
    [[ $key_size =~ ^(2048|3072|4096)$ ]] || die "--key-size $key_size: rsa takes 2048, 3072 or 4096" ;;
  ecdsa) key_size=${key_size:-256}
    [[ $key_size =~ ^(256|384)$ ]] || die "--key-size $key_size: ecdsa takes 256 or 384" ;;
  *) die "--key-algorithm '$key_alg' must be rsa or ecdsa" ;;
esac
[[ $duration =~ ^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ && -n $duration ]] ||
  die "--duration '$duration' is not a duration; write it like 2160h or 720h30m"
[[ $duration =~ ^([0-9]+)h && ${BASH_REMATCH[1]} -ge 1 ]] ||
  die "--duration '$duration' is below cert-manager's minimum; use at least 1h"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout '$timeout' must be a whole number of seconds"
out=${out:-./$name}
if ((force == 0 && dry_run == 0)); then
  for f in tls.key tls.crt ca.crt; do
    [[ ! -e $out/$f ]] || die "--out: $out/$f already exists; pass --force to replace it or pick another --out"
  done
fi
need base64 "encoding the CSR"

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/streamforge-cert.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ $key_alg == rsa ]]; then
  openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$key_size" -out "$work/tls.key" 2>/dev/null
else
  openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:P-$key_size" -out "$work/tls.key" 2>/dev/null
fi
san_list=()
for d in "${dns[@]}"; do san_list+=("DNS:$d"); done
for ip in "${ips[@]}"; do san_list+=("IP:$ip"); done
cn=${dns[0]:-${ips[0]}}
openssl req -new -key "$work/tls.key" -subj "/CN=$cn" \
  -addext "subjectAltName=$(IFS=,; echo "${san_list[*]}")" -out "$work/tls.csr"
request=$(base64 <"$work/tls.csr" | tr -d '\n')

cat >"$work/request.yaml" <<EOF
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata:
  name: $name
  namespace: $namespace
  labels:
    app.kubernetes.io/managed-by: streamforge-cert-script
spec:
  request: $request
  issuerRef:
    name: $issuer
    kind: $issuer_kind
    group: cert-manager.io
  duration: $duration
  usages:
    - digital signature
    - key encipherment
    - server auth
EOF

if ((dry_run)); then
  cat "$work/request.yaml"
  exit 0
fi

need kubectl "submitting the CertificateRequest"
kube() {
  if [[ -n $context ]]; then kubectl --context "$context" "$@"; else kubectl "$@"; fi
}
kube apply -f "$work/request.yaml" >/dev/null ||
  die "kubectl could not apply CertificateRequest $namespace/$name (see above); a request is immutable: delete the old one or pick another --name"

status='{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].message}|{.status.conditions[?(@.type=="Denied")].message}|{.status.conditions[?(@.type=="InvalidRequest")].message}'
deadline=$(($(date +%s) + timeout))
while :; do
  IFS='|' read -r ready message denied invalid < <(kube get certificaterequest "$name" -n "$namespace" -o "jsonpath=$status" || true)
  [[ ${ready-} == True ]] && break
  [[ -z ${denied-} ]] || die "CertificateRequest $namespace/$name was denied: $denied; ask for approval or check the issuer's policy"
  [[ -z ${invalid-} ]] || die "CertificateRequest $namespace/$name is invalid: $invalid; fix the parameters and use a new --name"
  (($(date +%s) < deadline)) ||
    die "CertificateRequest $namespace/$name not Ready after ${timeout}s (${message:-no status yet}); check $issuer_kind $issuer with kubectl describe, or raise --timeout"
  sleep 2
done

kube get certificaterequest "$name" -n "$namespace" -o 'jsonpath={.status.certificate}' | base64 -d >"$work/tls.crt"
kube get certificaterequest "$name" -n "$namespace" -o 'jsonpath={.status.ca}' | base64 -d >"$work/ca.crt"
[[ -s $work/ca.crt ]] || die "$issuer_kind $issuer returned no CA certificate; export it from the issuer's Secret and run verify"
verify_dir "$work" >/dev/null

# stage next to the target so the final moves are renames on one filesystem
mkdir -p "$out"
stage=$(mktemp -d "$out/.staging.XXXXXX")
cp "$work/tls.key" "$work/tls.crt" "$work/ca.crt" "$stage/"
chmod 600 "$stage/tls.key"
chmod 644 "$stage/tls.crt" "$stage/ca.crt"
mv -f "$stage/tls.key" "$stage/tls.crt" "$stage/ca.crt" "$out/"
rmdir "$stage"
echo "issued $namespace/$name by $issuer_kind $issuer: $out/tls.key $out/tls.crt $out/ca.crt"
