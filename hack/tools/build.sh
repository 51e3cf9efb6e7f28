#!/usr/bin/env bash
# Builds the local cluster's tools (a real Kubernetes control plane, etcd, kwok, metrics-server, helm 4 and 3)
# from the Go modules pinned in hack/tools/*, into a cache outside the repository keyed by those modules'
# content. Built once, under a lock; a warm cache does nothing and says so. Progress goes to stderr; the
# cache directory is the only thing printed on stdout, so callers can do DIR=$(hack/tools/build.sh).
#
#   hack/tools/build.sh              build if needed, print the directory
#   hack/tools/build.sh --print-dir  print the directory without building (it may not exist yet)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${WARMPOOL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warmpool}

# The key covers everything that decides what gets built: module files, wrapper sources, this script.
key=$(cd "$here" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' -o -name build.sh \) -print0 \
  | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
dir="$cache_root/tools-$key"

if [[ ${1:-} == --print-dir ]]; then echo "$dir"; exit 0; fi

log() { printf '[tools] %s\n' "$*" >&2; }

if [[ -f $dir/.complete ]]; then
  log "cache warm, nothing to build: $dir"
  echo "$dir"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
if ! flock -n 9; then
  log "another build holds $cache_root/.lock; waiting for it"
  flock 9
fi
if [[ -f $dir/.complete ]]; then
  log "built by another process meanwhile: $dir"
  echo "$dir"
  exit 0
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
stage="$dir.partial"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/share"
start_all=$SECONDS

# component NAME DIR OUTDIR PACKAGES... [-- extra go build flags]
step() {
  local name=$1 mod=$2; shift 2
  local t0=$SECONDS
  log "building $name ..."
  (cd "$here/$mod" && go build -trimpath "$@")
  log "built $name in $((SECONDS - t0)) s"
}

kv=v1.37.2
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kv -X $pkg.gitMajor=1 -X $pkg.gitMinor=37 -X $pkg.gitTreeState=clean"
done

step "kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $kv" kubernetes \
  -tags=selinux,notest -ldflags "-s -w $kube_ldflags" -o "$stage/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
step "etcd v3.7.3" etcd -ldflags "-s -w" -o "$stage/bin/etcd" .
step "kwok, kwokctl v0.8.0" kwok -ldflags "-s -w" -o "$stage/bin/" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
step "metrics-server v0.9.0" metrics-server \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v0.9.0" -o "$stage/bin/metrics-server" \
  sigs.k8s.io/metrics-server/cmd/metrics-server
step "helm v4.3.1" helm4 -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v4.3.1" \
  -o "$stage/bin/helm" helm.sh/helm/v4/cmd/helm
step "helm v3.22.0" helm3 -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v3.22.0" \
  -o "$stage/bin/helm3" helm.sh/helm/v3/cmd/helm

# Manifests the cluster reads from the same pinned modules: metrics-server's kustomize base, and kwok's own node
# stages and resource-usage metrics (passing any Stage to kwok drops its defaults, so we ship these alongside ours).
modcache=$(go env GOMODCACHE)
cp -r "$modcache/sigs.k8s.io/metrics-server@v0.9.0/manifests" "$stage/share/metrics-server"
mkdir -p "$stage/share/kwok"
cp -r "$modcache/sigs.k8s.io/kwok@v0.8.0/kustomize/stage/node" "$stage/share/kwok/node-stages"
cp -r "$modcache/sigs.k8s.io/kwok@v0.8.0/kustomize/metrics/resource" "$stage/share/kwok/metrics-resource"
chmod -R u+w "$stage/share"

touch "$stage/.complete"
rm -rf "$dir"
mv "$stage" "$dir"
log "all tools built in $((SECONDS - start_all)) s: $dir"
echo "$dir"
