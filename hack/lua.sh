#!/usr/bin/env bash
# Prints the path of Debian's lua5.1, installing the package once when it is missing (as root, through apt-get;
# CI has Debian's repositories). Lua 5.1 hosts the Argo CD health-check tests: it has setfenv, which builds the
# restricted environment Argo CD gives user scripts (gopher-lua, a Lua 5.1 dialect). Progress goes to stderr.
set -euo pipefail

if command -v lua5.1 >/dev/null; then command -v lua5.1; exit 0; fi
command -v apt-get >/dev/null || { echo "hack/lua.sh: lua5.1 is missing and there is no apt-get to install it" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "hack/lua.sh: lua5.1 is missing; install it with: sudo apt-get install lua5.1" >&2; exit 1; }
echo "[lua] installing Debian's lua5.1" >&2
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
# A fresh CI image has no package lists yet; an existing list is used as it is.
if ! apt-get install -y -qq lua5.1 >&2; then
  apt-get update -qq >&2
  apt-get install -y -qq lua5.1 >&2
fi
echo "[lua] $(lua5.1 -v 2>&1) ready in $((SECONDS - t0)) s" >&2
command -v lua5.1
