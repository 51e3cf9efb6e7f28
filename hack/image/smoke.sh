#!/usr/bin/env bash
# Runs the operator image against the cluster of $KUBECONFIG and checks it does its job:
#   hack/image/smoke.sh [IMAGE]   (default warmpool:dev, as hack/image/build.sh tags it)
# Docker (when a daemon answers) or podman runs it as the chart's Deployment would (read-only root filesystem,
# no capabilities, no privilege escalation), on the host network so it reaches a loopback API server. Checks that
# the process runs as uid 65532 and that the operator, scoped to a fresh namespace, brings a pool of 3 to 3 ready.
# Prints one line per check; exits non-zero on the first failure. Cleans up what it made.
set -euo pipefail
# shellcheck source=hack/image/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
img=${1:-warmpool:dev}
: "${KUBECONFIG:?set KUBECONFIG to the cluster to run against}"
# The project's kubectl (hack/tools) when built: the machine's may be several minors behind the server.
tools=$(bash "$root/hack/tools/build.sh" --print-dir)
if [[ -n ${KUBECTL:-} ]]; then kubectl=$KUBECTL
elif [[ -x $tools/bin/kubectl ]]; then kubectl=$tools/bin/kubectl
elif command -v kubectl >/dev/null; then kubectl=kubectl
else kubectl="$(bash "$root/hack/tools/build.sh")/bin/kubectl"
fi
t0=$SECONDS
say() { printf 'smoke: %s\n' "$*"; }

if docker_works; then
  ctr_() { docker "$@"; }
  log_driver=json-file
else
  ensure_container_tools
  ctr_() { podman_ "$@"; }
  log_driver=k8s-file
fi
tmp=$(mktemp -d)
ns=smoke-$RANDOM$RANDOM
ctr=warmpool-smoke-$$
cleanup() {
  ctr_ rm -f "$ctr" >/dev/null 2>&1 || true
  "$kubectl" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# One self-contained file the container's user can read: certificates inlined, only the current context.
"$kubectl" config view --raw --minify --flatten >"$tmp/kubeconfig"
chmod 644 "$tmp/kubeconfig"
"$kubectl" apply --server-side -f "$root/crds" >/dev/null
"$kubectl" wait --for=condition=Established --timeout=30s crd/instancepools.warmpool.dev crd/poolclaims.warmpool.dev >/dev/null
"$kubectl" create namespace "$ns" >/dev/null

ctr_ run -d --name "$ctr" --log-driver "$log_driver" \
  --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  --read-only --cap-drop ALL --security-opt no-new-privileges \
  -v "$tmp/kubeconfig:/etc/warmpool/kubeconfig:ro" -e KUBECONFIG=/etc/warmpool/kubeconfig -e WARMPOOL_LOG=info \
  "$img" --namespaces "$ns" --metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:0 >/dev/null

logs() { ctr_ logs "$ctr" 2>&1; }
started() { [[ $(logs) == *'operator started'* ]]; }
for ((i = 0; i < 300; i++)); do
  started && break
  [[ $(ctr_ inspect --format '{{.State.Running}}' "$ctr") == true ]] || { logs >&2; die "the operator exited"; }
  sleep 0.1
done
started || { logs >&2; die "the operator did not start in 30 s"; }
say "operator started in $((SECONDS - t0)) s"

pid=$(ctr_ inspect --format '{{.State.Pid}}' "$ctr")
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
[[ $uid == 65532 ]] || die "the operator runs as uid $uid, want 65532"
say "runs as uid $uid"

"$kubectl" apply -f - >/dev/null <<YAML
apiVersion: warmpool.dev/v1alpha1
kind: InstancePool
metadata:
  name: smoke
  namespace: $ns
spec:
  targetSize: 3
  template:
    metadata:
      annotations:
        sim.warmpool.dev/ready-after: 1s
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: main
          # Preloaded on kind nodes; kwok runs no container, so the image is irrelevant there.
          image: registry.k8s.io/pause:3.10
          imagePullPolicy: IfNotPresent
YAML
t1=$SECONDS
ready=0
for ((i = 0; i < 600; i++)); do
  ready=$("$kubectl" -n "$ns" get instancepool smoke -o jsonpath='{.status.readyCount}')
  [[ $ready == 3 ]] && break
  sleep 0.1
done
[[ $ready == 3 ]] || { logs >&2; die "pool smoke has $ready ready members after 60 s, want 3"; }
say "pool smoke at target: 3 of 3 ready in $((SECONDS - t1)) s"
say "image $img: $(ctr_ image inspect --format '{{.Size}}' "$img" | numfmt --to=si)B"
