#!/usr/bin/env bash
# examples/demo.sh - installs what is missing, builds libdecam and runs the
# demo: a model that only looks at a hidden rectangle is explained, and the
# map is printed with the rectangle marked.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/demo}

need=(meson ninja-build pkg-config gcc libcmocka-dev)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "demo: installing ${missing[*]}"
    as_root=""
    [ "$(id -u)" = 0 ] || as_root="sudo"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d "$build" ]; then meson setup "$build" -Dtests=false >/dev/null; fi
ninja -C "$build" >/dev/null
"$build/examples/planted"
