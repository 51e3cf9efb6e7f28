#!/usr/bin/env bash
# Builds the operator image from the Dockerfile:   hack/image/build.sh [IMAGE]   (default warmpool:dev)
#   - with a working Docker daemon: docker build;
#   - otherwise Debian's buildah (installed when missing), chroot isolation and vfs storage, on the base image
#     hack/image/base.sh makes locally. The host's npm cache is mounted at the build's /root/.npm, so `npm install`
#     inside the build installs offline from the packages this machine already has (`make deps` put them there).
# Reports the build time and image size on stderr. hack/image/smoke.sh runs the result (podman for buildah's images).
set -euo pipefail
# shellcheck source=hack/image/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
img=${1:-warmpool:dev}
t0=$SECONDS

if docker_works; then
  log "docker build -t $img"
  docker build -t "$img" "$root" >&2
  log "built $img in $((SECONDS - t0)) s, $(docker image inspect --format '{{.Size}}' "$img" | numfmt --to=si)B"
  exit 0
fi

ensure_container_tools
base=$(bash "$root/hack/image/base.sh")
npm_cache=$(bash -c 'PATH="$(dirname "$(bash "$1/hack/node.sh")"):$PATH" npm config get cache 2>/dev/null' _ "$root")
mkdir -p "$npm_cache"
log "buildah bud -t $img (base $base, npm cache $npm_cache)"
buildah_ bud --isolation chroot --layers --force-rm \
  --build-arg "BASE_IMAGE=$base" \
  --build-arg NPM_CONFIG_OFFLINE=true \
  --volume "$npm_cache:/root/.npm" \
  --tag "$img" \
  --file "$root/Dockerfile" \
  "$root" >&2 || die "buildah bud failed (ENOTCACHED above means the npm cache lacks a package: run make deps first)"
size=$(buildah_ images --format '{{.Size}}' "$img" | head -1)
log "built $img in $((SECONDS - t0)) s, $size"
