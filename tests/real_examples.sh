#!/usr/bin/env bash
# real_examples.sh EXE SRC - the classifier and photographs shipped in
# examples/real, as the quick start (examples/demo.sh) and the README use
# them: the model reads, names each photograph's class as examples/real/NOTICE
# says (with its probability to 0.01), and one short explanation gives a
# map whose peak lies in the region the README describes. Skips (status 77)
# when decam-explain is built without OpenCV DNN.
exe=$1
real=$2/examples/real
if ! "$exe" --version | grep -q "OpenCV DNN: yes"; then
    echo "SKIP: decam-explain is built without OpenCV DNN (meson option opencv)"
    exit 77
fi
net=(--model "$real/mobilenet_v1_025_224.onnx" --labels "$real/labels.txt")
tmp=$(mktemp -d) # the panel decam-explain writes goes here, not into the working directory
trap 'rm -rf "$tmp"' EXIT
failed=0
# photo, class, probability (as the NOTICE gives them)
while read -r photo class p; do
    top=$("$exe" "${net[@]}" "$real/$photo" --scores | sort -t "$(printf '\t')" -k2 -gr | head -n 1)
    got_class=$(printf '%s' "$top" | cut -f3)
    got_p=$(printf '%s' "$top" | cut -f2)
    if [ "$got_class" != "$class" ] || ! awk -v a="$got_p" -v b="$p" 'BEGIN { exit !(a - b < 0.01 && b - a < 0.01) }'; then
        echo "FAIL: $photo: top class $got_class, p $got_p (want $class, p $p)"
        failed=1
    else
        echo "ok: $photo: $got_class, p $got_p"
    fi
    grep -q "The model: $class, p $p" "$real/NOTICE" || { echo "FAIL: NOTICE does not say $class, p $p"; failed=1; }
done <<'LIST'
chelsea.jpg Egyptian_cat 0.49
coffee.jpg espresso 0.59
camera.jpg tripod 0.79
LIST
# The README's panel: the cameraman's map peaks on the tripod, below and
# right of the man (x 100..200, y 120..224 of the 224 x 224 crop).
peak=$("$exe" "${net[@]}" "$real/camera.jpg" --budget 300 -o "$tmp/camera.png" | sed -n 's/^peak: *x \([0-9]*\), y \([0-9]*\)$/\1 \2/p')
if [ -n "$peak" ] && awk -v x="${peak% *}" -v y="${peak#* }" 'BEGIN { exit !(x >= 100 && x <= 200 && y >= 120) }'; then
    echo "ok: camera.jpg: peak $peak"
else
    echo "FAIL: camera.jpg: the map's peak ($peak) is not on the tripod"
    failed=1
fi
exit "$failed"
