#!/usr/bin/env bash
# examples/demo.sh - installs what is missing, builds libdecam and its
# examples, then explains the project's own trained shapes classifier on a
# few generated scenes. Writes an image | map | overlay panel per scene into
# demo-out/ and prints, per scene: the true class, the prediction, the
# score, the queries, the seconds, whether the map's maximum lies on the
# object (pointing game) and the share of the map's mass on it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/demo}
out=demo-out
scenes=${DEMO_SCENES:-"1 2 3 4 5 6"}

need=(meson ninja-build pkg-config gcc libpng-dev libjpeg62-turbo-dev)
tests/ensure-packages.sh "${need[@]}"

if [ ! -d "$build" ]; then
    meson setup "$build" -Dtests=disabled -Dio=enabled -Dopencv=disabled -Dbuildtype=release \
        >/dev/null
fi
ninja -C "$build" >/dev/null
explain="$build/examples/decam-explain"

# A field of the JSON report: the value after "key": (strings unquoted).
field() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2"; }

mkdir -p "$out"
echo "libdecam demo: the shapes classifier, explained by DE-CAM (1000 queries, seed 0)"
echo
printf '%-6s %-9s %-9s %-6s %-7s %-7s %-8s %-6s\n' scene true predicted score queries seconds pointing energy
for s in $scenes; do
    "$explain" --scene "$s" -q -o "$out/scene-$s.png" --json "$out/scene-$s.json" >/dev/null
    j="$out/scene-$s.json"
    truth=$(sed -n 's/.*"class": "\([a-z]*\)".*/\1/p' "$j")
    hit=$(field pointing_game "$j")
    printf '%-6s %-9s %-9s %-6.3f %-7s %-7.3f %-8s %-6.3f\n' "$s" "$truth" \
        "$(field prediction "$j")" "$(field score_full "$j")" "$(field queries "$j")" \
        "$(field seconds "$j")" "$([ "$hit" = true ] && echo hit || echo miss)" \
        "$(field energy_pointing_game "$j")"
done
echo
echo "panels (image | saliency map | overlay, top 15% outlined): $out/scene-*.png"
echo "another image: $explain path/to/image.png -o panel.png    (--help for options)"
