#!/usr/bin/env bash
# tests/ensure-packages.sh PKG... - installs the Debian packages among PKG
# that are missing (checked with dpkg first; apt-get update once, only if
# something is missing). Used by tests/run.sh and examples/demo.sh.
set -euo pipefail
missing=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}"
as_root=""
[ "$(id -u)" = 0 ] || as_root="sudo"
$as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq "${missing[@]}" >/dev/null
