# shellcheck shell=bash disable=SC2034
# Shared by the image scripts (sourced): logging, the cache, and buildah/podman as this machine needs them.
# vfs storage needs no overlay mounts, so it works in unprivileged sandboxes too; runc and cgroupfs because crun
# and systemd cgroups fail on these machines.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${WARMPOOL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warmpool}/image
BASE_IMAGE=localhost/warmpool-node-base:24

log() { printf '[image] %s\n' "$*" >&2; }
die() { printf 'hack/image: %s\n' "$*" >&2; exit 1; }

buildah_() { buildah --storage-driver vfs "$@"; }

podman_() {
  # podman's default ulimits make it fail here with "setrlimit RLIMIT_NOFILE"; every run passes its own.
  mkdir -p "$cache"
  printf '[containers]\ndefault_ulimits = []\n' >"$cache/containers.conf"
  CONTAINERS_CONF_OVERRIDE="$cache/containers.conf" podman --storage-driver vfs --runtime runc --cgroup-manager cgroupfs "$@"
}

# Debian's buildah, podman and runc, installed once when missing.
ensure_container_tools() {
  local missing=()
  for tool in buildah podman runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  ((${#missing[@]} == 0)) && return
  command -v apt-get >/dev/null || die "need ${missing[*]} (or Docker); apt-get is not available to install them"
  log "installing ${missing[*]} from Debian"
  if ! apt-cache policy buildah 2>/dev/null | grep -q 'Candidate: [0-9]'; then apt-get update -qq >&2; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# True when a Docker daemon answers (a docker client alone is not enough).
docker_works() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }
