#!/usr/bin/env bash
# Prints a directory holding Debian's prometheus package unpacked (promtool is at <dir>/usr/bin/promtool).
# The package is extracted, never installed: installing it would start a Prometheus service listening on every
# interface. Extracted once into a cache outside the repository; later calls only print the directory.
# Progress goes to stderr, the directory to stdout.
set -euo pipefail

cache=${WARMPOOL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warmpool}
command -v apt-get >/dev/null || { echo "hack/prometheus.sh: needs apt-get (Debian or Ubuntu)" >&2; exit 1; }

candidate() { apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ { print $2 }'; }
version=$(candidate)
if [[ -z $version || $version == "(none)" ]]; then
  echo "[prometheus] apt-get update (no candidate for the prometheus package yet)" >&2
  apt-get update -qq >&2
  version=$(candidate)
fi
[[ -n $version && $version != "(none)" ]] || { echo "hack/prometheus.sh: no prometheus package in the apt sources" >&2; exit 1; }

dir="$cache/prometheus-${version//[:+~]/_}"
if [[ -x $dir/usr/bin/promtool ]]; then echo "$dir"; exit 0; fi

echo "[prometheus] downloading and extracting prometheus $version into $dir" >&2
t0=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get download writes to the current directory and runs as the _apt user when it can: give it a directory it
# may write to.
chmod 777 "$work"
(cd "$work" && apt-get download -qq "prometheus=$version" >&2)
deb=$(ls "$work"/prometheus_*.deb)
mkdir -p "$work/root"
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/promtool" --version >/dev/null
mkdir -p "$cache"
rm -rf "$dir"
mv "$work/root" "$dir"
echo "[prometheus] promtool ready in $((SECONDS - t0)) s" >&2
echo "$dir"
