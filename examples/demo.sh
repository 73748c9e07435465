#!/usr/bin/env bash
# examples/demo.sh [PHOTO...] - installs what is missing, builds libdecam
# and decam-explain with OpenCV's DNN module, then explains a real
# pretrained ImageNet classifier (examples/real: MobileNet v1 0.25, ONNX)
# on the three photographs shipped beside it, or on the PHOTOs given.
# Writes an image | map | overlay panel and a JSON report per photograph
# into demo-out/ and prints, per photograph: the predicted class and its
# probability, that probability with the map's region kept and with it
# removed (the rest, or the region, blurred), where the map peaks, the
# queries and the seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/demo}
out=demo-out
real=examples/real
if [ $# -gt 0 ]; then photos=("$@"); else photos=("$real"/chelsea.jpg "$real"/coffee.jpg "$real"/camera.jpg); fi

need=(meson ninja-build pkg-config gcc g++ libpng-dev libjpeg62-turbo-dev libopencv-dnn-dev)
tests/ensure-packages.sh "${need[@]}"

if [ ! -d "$build" ]; then
    meson setup "$build" -Dtests=disabled -Dio=enabled -Dopencv=enabled -Dbuildtype=release \
        >/dev/null
else
    meson configure "$build" -Dio=enabled -Dopencv=enabled >/dev/null
fi
ninja -C "$build" >/dev/null
explain="$build/examples/decam-explain"
net=(--model "$real/mobilenet_v1_025_224.onnx" --labels "$real/labels.txt")

# A field of the JSON report: the value after "key": (strings unquoted).
field() { sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$2"; }
# Where (x, y) lies in a side x side image, in thirds: "top left" ... "centre".
where() {
    local x=$1 y=$2 side=$3 v h
    v=$( ((3 * y < side)) && echo top || { ((3 * y < 2 * side)) && echo middle || echo bottom; })
    h=$( ((3 * x < side)) && echo left || { ((3 * x < 2 * side)) && echo centre || echo right; })
    [ "$v $h" = "middle centre" ] && echo centre || echo "$v $h"
}

mkdir -p "$out"
echo "libdecam demo: MobileNet v1 0.25 (ImageNet, ONNX through OpenCV DNN), explained by DE-CAM"
echo "(1000 queries, seed 0; the model sees the centre 224 x 224 of each photograph)"
echo
printf '%-12s %-14s %-6s %-6s %-8s %-24s %-7s %s\n' photo predicted p kept removed "peak (x, y in 224)" queries seconds
for photo in "${photos[@]}"; do
    name=$(basename "${photo%.*}")
    j="$out/$name.json"
    "$explain" "${net[@]}" "$photo" -q -o "$out/$name.png" --json "$j" >/dev/null
    peak=$(sed -n 's/^ *"peak": \[\([0-9]*\), \([0-9]*\)\],$/\1 \2/p' "$j")
    printf '%-12s %-14s %-6.3f %-6.3f %-8.3f %-24s %-7s %.1f\n' "$name" "$(field prediction "$j")" \
        "$(field score_full "$j")" "$(field score_keep "$j")" "$(field score_drop "$j")" \
        "${peak/ /, } ($(where $peak 224))" "$(field queries "$j")" "$(field seconds "$j")"
done
echo
echo "p: the model's probability of its predicted class. kept: that probability on the photograph"
echo "blended with a blurred copy by the map (sharp where the map is high); removed: blended the"
echo "other way (blurred where the map is high). A faithful map: kept near p or above, removed far below."
echo "panels (photograph | saliency map | overlay, top 15% outlined): $out/*.png; reports: $out/*.json"
echo "your own photograph: examples/demo.sh path/to/photo.jpg, or"
echo "  $explain ${net[*]} photo.jpg -o panel.png    (--help for options)"
