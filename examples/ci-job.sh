#!/usr/bin/env bash
# A CI job that borrows a warm runner with the kubectl plugin (bin/ on PATH, or `npm install -g` of this package):
# claim, use the member's IP, release whatever happens. On a failed or timed-out claim the plugin exits 1 and has
# already deleted its claim.
set -euo pipefail
claim=$(kubectl warmpool claim ci-runners --wait --timeout 2m --acquired-by "ci-${CI_JOB_ID:-local}" -o name)
trap 'kubectl warmpool release "${claim#*/}"' EXIT
ip=$(kubectl get "$claim" -o jsonpath='{.status.member.podIP}')
echo "running the build on $ip"
# ssh, curl or kubectl exec against the member here
