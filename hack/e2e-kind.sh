#!/usr/bin/env bash
# The e2e suite against a kind cluster, where Docker and kind exist (`make e2e-kind`):
#   hack/e2e-kind.sh [CLUSTER] [IMAGE]     (defaults warmpool-e2e, warmpool:dev)
# Creates the kind cluster, builds the operator image and loads it into the nodes, installs the chart (namespaced
# to a namespace of its own, so it acts on no test's pools) and checks it brings a pool to target, then runs the
# same e2e suite as on the local cluster with WARMPOOL_TEST_EXTERNAL_CLUSTER=1. The cluster is deleted on exit,
# whatever happened. Progress lines go to stderr with the elapsed time.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cluster=${1:-warmpool-e2e}
img=${2:-warmpool:dev}
t0=$SECONDS
step() { printf '[e2e-kind %3ds] %s\n' "$((SECONDS - t0))" "$*" >&2; }
die() { printf 'hack/e2e-kind.sh: %s\n' "$*" >&2; exit 1; }

command -v kind >/dev/null || die "needs kind (https://kind.sigs.k8s.io)"
if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then die "needs a running Docker daemon"; fi

# The image reference as the chart's values: repository and tag (a registry port is not a tag).
if [[ ${img##*/} == *:* ]]; then repository=${img%:*} tag=${img##*:}; else repository=$img tag=latest; fi

node=$(bash "$root/hack/node.sh")
[[ -d $root/node_modules/jest ]] || die "npm dependencies are missing: run make build first"
tools=$(bash "$root/hack/tools/build.sh")
kubectl=$tools/bin/kubectl
helm=$tools/bin/helm

work=$(mktemp -d)
export KUBECONFIG=$work/kubeconfig
cleanup() {
  local rc=$?
  step "deleting kind cluster $cluster"
  kind delete cluster --name "$cluster" --kubeconfig "$KUBECONFIG" >&2 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "creating kind cluster $cluster"
kind create cluster --name "$cluster" --kubeconfig "$KUBECONFIG" --wait 180s >&2

step "building $img"
bash "$root/hack/image/build.sh" "$img"
step "loading $img into the nodes"
kind load docker-image "$img" --name "$cluster" >&2

step "installing the chart"
"$kubectl" create namespace warmpool-system >/dev/null
"$kubectl" create namespace warmpool-kind-smoke >/dev/null
"$helm" install warmpool "$root/charts/warmpool" -n warmpool-system --wait --timeout 180s \
  --set image.repository="$repository" --set image.tag="$tag" --set image.pullPolicy=Never \
  --set replicas=2 --set 'watchNamespaces={warmpool-kind-smoke}' >&2
"$kubectl" -n warmpool-system rollout status deploy/warmpool --timeout=60s >&2
"$kubectl" apply -f - >/dev/null <<'YAML'
apiVersion: warmpool.dev/v1alpha1
kind: InstancePool
metadata:
  name: smoke
  namespace: warmpool-kind-smoke
spec:
  targetSize: 2
  template:
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: main
          image: registry.k8s.io/pause:3.10
          imagePullPolicy: IfNotPresent
YAML
"$kubectl" -n warmpool-kind-smoke wait --for=jsonpath='{.status.readyCount}'=2 --timeout=120s instancepool/smoke >&2 \
  || { "$kubectl" -n warmpool-system logs deploy/warmpool --tail=50 >&2; die "the installed operator did not bring the pool to target"; }
step "the chart's operator brought pool warmpool-kind-smoke/smoke to 2 ready members"

step "compiling and running the e2e suite"
cd "$root"
# Global setup imports the compiled cluster harness from dist/; bin/warmpool runs the bundle.
"$node" node_modules/typescript/bin/tsc -p tsconfig.build.json
"$node" hack/bundle.mjs
# The chart and image tests install and run $img (loaded above) instead of building their own.
# e2e/cluster.test.ts tests the local kwok cluster itself (fake nodes, the sim.warmpool.dev stages): not kind's.
# Members elsewhere run registry.k8s.io/pause, which a real kubelet starts.
WARMPOOL_TEST_EXTERNAL_CLUSTER=1 WARMPOOL_TEST_IMAGE="$img" \
  "$node" --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects cluster \
  --testPathIgnorePatterns 'e2e/cluster\.test\.ts' -- e2e/
step "e2e suite passed against kind"
