#!/usr/bin/env bash
# cli_det.sh EXE WORKDIR REALDET - decam-explain --detector on a real
# detector: Yolo-Fastest 1.1 (darknet) of REALDET (../shared/realdet)
# through OpenCV DNN, on darknet_dog.jpg. Checks that the detections are
# the detector's own (detections.json: classes, boxes within 2 px), one
# map per detection peaking inside its box, the records, --resume, an
# image with no detection, --box, and the error exits. Skips (status 77)
# only when REALDET or OpenCV DNN is absent. About 15 s on one core.
exe=$1
work=$2/cli-det
data=$3
if [ ! -f "$data/yolo-fastest-1.1.weights" ]; then
    echo "SKIP: no real-detector set at $data (see shared/realdet/README.md)"
    exit 77
fi
if ! "$exe" --version | grep -q "OpenCV DNN: yes"; then
    echo "SKIP: decam-explain is built without OpenCV DNN (meson option opencv)"
    exit 77
fi
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
numpy=0
"$py" -c "import numpy" 2>/dev/null && numpy=1
rm -rf "$work" && mkdir -p "$work/in" || exit 1
ln -s "$data/images/darknet_dog.jpg" "$work/in/dog.jpg" || exit 1
det=(--detector "$data/yolo-fastest-1.1.cfg,$data/yolo-fastest-1.1.weights"
     --labels "$data/coco.names" -q)
. "$(dirname "$0")/cli_lib.sh"

# ---- every detection of the image, one run ------------------------------------------
start=$(date +%s.%N)
expect 0 "1 image: 1 explained, 0 skipped" "${det[@]}" "$work/in" -o "$work/out" --budget 150
end=$(date +%s.%N)
echo "one explanation of darknet_dog.jpg (3 detections, budget 150): $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"

# The record's detections are detections.json's (names, boxes within 2 px,
# scores within 0.02), best first; the summary holds the record.
check "detections and record" '
import json, sys
data, out = sys.argv[1], sys.argv[2]
want = [e for e in json.load(open(data + "/detections.json"))
        if e["file"] == "images/darknet_dog.jpg"][0]["detections"]
rec = json.loads(open(out + "/dog.jpg.json").read())
assert [json.loads(l) for l in open(out + "/summary.jsonl")] == [rec]
got = rec["detections"]
assert len(got) == len(want) == 3, (len(got), len(want))
for g, w in zip(got, sorted(want, key=lambda w: -w["score"])):
    assert g["label"] == w["class_name"] and g["class"] == w["class_index"], (g, w)
    assert max(abs(a - b) for a, b in zip(g["box"], w["box"])) <= 2, (g["box"], w["box"])
    assert abs(g["score"] - w["score"]) < 0.02, (g["score"], w["score"])
assert [g["map_index"] for g in got] == [0, 1, 2] and {g["map"] for g in got} == {"dog.jpg.npy"}
assert rec["queries"] == 150 and rec["threshold"] == 0.5 and rec["map"] == "dog.jpg.npy"
s = rec["settings"]
assert s["detector"] == "darknet" and s["threshold"] == 0.5 and s["nms"] == 0.45
assert s["model"]["path"].endswith("yolo-fastest-1.1.weights") and s["model"]["size"] > 0
assert s["config"]["path"].endswith("yolo-fastest-1.1.cfg") and s["config"]["size"] > 0
assert s["detector_layout"] == "cxcywh,normalised,box=0,obj=4,cls=5" and s["stride"] == 85
assert open(out + "/dog.jpg.png", "rb").read(4) == b"\x89PNG"
' "$data" "$work/out"

# One map per detection, (K, 320, 320), each peaking inside its box for
# most detections.
if [ "$numpy" = 1 ]; then
    check "maps" '
import json, sys
import numpy as np
out = sys.argv[1]
rec = json.load(open(out + "/dog.jpg.json"))
maps = np.load(out + "/dog.jpg.npy")
assert maps.dtype == np.float32 and maps.shape == (3, 320, 320), (maps.dtype, maps.shape)
assert np.isfinite(maps).all() and (maps.reshape(3, -1).max(axis=1) == 1).all()
inside = 0
for d in rec["detections"]:
    m = maps[d["map_index"]]
    y, x = np.unravel_index(int(m.argmax()), m.shape)
    assert [x, y] == d["peak"], ([x, y], d["peak"])
    x0, y0, x1, y1 = d["box"]
    inside += x0 <= x <= x1 and y0 <= y <= y1
assert inside >= 2, "%d of 3 peaks inside their boxes" % inside
' "$work/out"
else
    echo "numpy not available: the maps' peaks are not checked"
fi

# ---- --resume, the threshold in the settings ---------------------------------------
cp "$work/out/dog.jpg.json" "$work/record-before"
expect 0 "0 explained, 1 skipped" "${det[@]}" "$work/in" -o "$work/out" --budget 150 --resume
cmp -s "$work/record-before" "$work/out/dog.jpg.json" && ok || fail "--resume rewrote the record"

# ---- no detection: recorded, one line, status 0 -----------------------------------
expect 0 "dog.jpg: no detection scores 0.99 or more" "${det[@]}" "$work/in" -o "$work/out" \
    --budget 150 --resume --threshold 0.99
check "a record with no detection" '
import json, sys
rec = json.load(open(sys.argv[1] + "/dog.jpg.json"))
assert rec["detections"] == [] and rec["queries"] == 0 and rec["settings"]["threshold"] == 0.99
' "$work/out"
[ "$numpy" = 1 ] && check "an empty map stack" '
import sys
import numpy as np
assert np.load(sys.argv[1] + "/dog.jpg.npy").shape == (0, 320, 320)' "$work/out"

# ---- one image, --target, --box -------------------------------------------------
expect 0 "detection 1: dog" "${det[@]}" "$work/in/dog.jpg" --target dog --budget 60 \
    -o "$work/dog.png" --map "$work/dog.npy" --json "$work/dog.json"
check "--target keeps its class" '
import json, sys
rec = json.load(open(sys.argv[1]))
assert [d["label"] for d in rec["detections"]] == ["dog"], rec["detections"]' "$work/dog.json"
expect 0 "box \[50.0, 120.0, 150.0, 290.0\]" "${det[@]}" "$work/in/dog.jpg" \
    --box 50,120,150,290 --budget 60 -o "$work/box.png"

# ---- errors -------------------------------------------------------------------------
expect 1 "cannot read .*missing.cfg" --detector "$work/missing.cfg,$data/yolo-fastest-1.1.weights" \
    "$work/in/dog.jpg" -o "$work/x.png"
expect 1 "cannot read .*missing.weights" --detector "$data/yolo-fastest-1.1.cfg,$work/missing.weights" \
    "$work/in" -o "$work/x"
expect 1 "not whole rows of 84" "${det[@]}" --detector-layout stride=84 "$work/in/dog.jpg"
expect 1 "too few for the layout" "${det[@]}" --detector-layout cls=90 "$work/in/dog.jpg"
expect 2 "has 2 names, the model 80 classes" "${det[@]}" --labels <(printf 'a\nb\n') "$work/in/dog.jpg"
expect 2 "give the network's input size" --detector "$work/net.onnx" "$work/in/dog.jpg"
expect 2 "is none of cxcywh" "${det[@]}" --detector-layout cxcy "$work/in/dog.jpg"
expect 2 "unknown target class 'unicorn'" "${det[@]}" --target unicorn "$work/in/dog.jpg"
expect 2 "need --detector" --threshold 0.3 "$work/in/dog.jpg"
expect 2 "not both" "${det[@]}" --model "$work/net.onnx" "$work/in/dog.jpg"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
