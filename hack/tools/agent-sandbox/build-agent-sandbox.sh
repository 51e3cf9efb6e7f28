#!/usr/bin/env bash
# Builds the peer the benchmark runs beside warmpool: agent-sandbox v1.0.3's controller (sigs.k8s.io/agent-sandbox,
# cmd/agent-sandbox-controller, which serves SandboxTemplate / SandboxWarmPool / SandboxClaim with --extensions),
# plus its CRD manifests from the same module, into a cache outside the repository keyed by this directory's content.
# Only `make bench-peers` calls it: CI and the test harness never build agent-sandbox.
#
# The wrapper module is kept as wrapper.mod / wrapper.sum, not go.mod / go.sum, and this script is not named
# build.sh: hack/tools/build.sh keys the shared tools cache on every go.mod, go.sum and build.sh under hack/tools,
# and adding a peer must not invalidate (and rebuild, ~15 minutes) everyone's control plane. The files are copied
# into a scratch module at build time. The proxy here refuses agent-sandbox's version list (403), so `go install
# ...@v1.0.3` fails; a module that requires v1.0.3 exactly and builds the command with `go build` works.
#
#   hack/tools/agent-sandbox/build-agent-sandbox.sh              build if needed, print the directory
#   hack/tools/agent-sandbox/build-agent-sandbox.sh --print-dir  print the directory without building
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=v1.0.3
cache_root=${WARMPOOL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warmpool}
key=$(cd "$here" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
dir="$cache_root/agent-sandbox-$version-$key"

if [[ ${1:-} == --print-dir ]]; then echo "$dir"; exit 0; fi
log() { printf '[agent-sandbox] %s\n' "$*" >&2; }
if [[ -f $dir/.complete ]]; then
  log "cache warm, nothing to build: $dir"
  echo "$dir"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.agent-sandbox.lock"
if ! flock -n 9; then
  log "another build holds $cache_root/.agent-sandbox.lock; waiting for it"
  flock 9
fi
if [[ -f $dir/.complete ]]; then echo "$dir"; exit 0; fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
stage="$dir.partial"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/share"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$here/wrapper.mod" "$scratch/go.mod"
cp "$here/wrapper.sum" "$scratch/go.sum"

t0=$SECONDS
log "building agent-sandbox-controller $version ..."
(cd "$scratch" && go build -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/agent-sandbox/internal/version.gitVersion=$version" \
  -o "$stage/bin/agent-sandbox-controller" sigs.k8s.io/agent-sandbox/cmd/agent-sandbox-controller)
log "built in $((SECONDS - t0)) s"

# The CRDs the controller serves, from the module that was built (the Sandbox core CRD and the three extensions).
moddir=$(cd "$scratch" && go list -m -f '{{.Dir}}' sigs.k8s.io/agent-sandbox)
cp -r "$moddir/k8s/crds" "$stage/share/crds"
chmod -R u+w "$stage/share"

touch "$stage/.complete"
rm -rf "$dir"
mv "$stage" "$dir"
echo "$dir"
