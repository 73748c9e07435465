#!/usr/bin/env bash
# cli_real.sh EXE WORKDIR REALDATA - decam-explain on a real classifier:
# the MobileNet ONNX model shipped in examples/real (the one of REALDATA,
# ../shared/realdata) on ten of REALDATA's labelled photographs, through
# OpenCV DNN. Checks the maps, the records and the
# summary, --resume, --jobs 2 against --jobs 1, --top-k, --metrics, the
# ONNX import error naming its node (and the documented way around it)
# and every error exit. Skips (status 77) only when REALDATA or OpenCV is
# absent. Small budgets: about 30 s of model time on one core.
exe=$1
work=$2/cli-real
data=$3
if [ ! -f "$data/images.json" ]; then
    echo "SKIP: no real-model set at $data (see shared/realdata/README.md)"
    exit 77
fi
if ! "$exe" --version | grep -q "OpenCV DNN: yes"; then
    echo "SKIP: decam-explain is built without OpenCV DNN (meson option opencv)"
    exit 77
fi
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
rm -rf "$work" && mkdir -p "$work" || exit 1
src=$(cd "$(dirname "$0")/.." && pwd)
model=$src/examples/real/mobilenet_v1_025_224.onnx
labels=$src/examples/real/labels.txt
net=(--model "$model" --labels "$labels" -q)
. "$(dirname "$0")/cli_lib.sh"

# Ten photographs, the first ten of images.json; two in a subfolder, so the
# search is recursive; a text file that is not searched.
mkdir -p "$work/in/sub"
"$py" - "$data" "$work/in" <<'PY' || exit 1
import json, os, sys
data, dest = sys.argv[1], sys.argv[2]
for i, e in enumerate(json.load(open(os.path.join(data, "images.json")))[:10]):
    name = os.path.basename(e["file"])
    os.symlink(os.path.join(data, e["file"]), os.path.join(dest, "sub" if i < 2 else "", name))
PY
echo "not an image" > "$work/in/notes.txt"

# ---- a folder, one job and two ------------------------------------------------
expect 0 "10 images: 10 explained, 0 skipped" "${net[@]}" "$work/in" -o "$work/out1" --budget 200
expect 0 "10 explained" "${net[@]}" "$work/in" -o "$work/out2" --budget 200 --jobs 2

# The maps NumPy reads, the records, the summary: each image's class is
# its label in images.json (the model classifies all ten correctly).
check "maps, records and summary" '
import json, os, sys
import numpy as np
data, out = sys.argv[1], sys.argv[2]
truth = {os.path.basename(e["file"]): e for e in json.load(open(data + "/images.json"))[:10]}
lines = [json.loads(l) for l in open(out + "/summary.jsonl")]
assert len(lines) == 10, len(lines)
names = [l["image"] for l in lines]
assert names == sorted(names), names  # input order: by name
for rec in lines:
    base = os.path.basename(rec["image"])
    assert rec["class"] == truth[base]["class_index"], (base, rec["class"])
    assert rec["label"] == truth[base]["class_name"], (base, rec["label"])
    assert abs(rec["score"] - truth[base]["p_true"]) < 0.15, (base, rec["score"])
    assert rec["queries"] == 200 and rec["budget"] == 200 and rec["seconds"] > 0, rec
    stem = os.path.join(out, rec["image"])
    assert json.load(open(stem + ".json")) == rec
    m = np.load(stem + ".npy")
    assert m.dtype == np.float32 and m.shape == (224, 224), (m.dtype, m.shape)
    assert np.isfinite(m).all() and m.min() >= 0 and m.max() == 1, (m.min(), m.max())
    assert open(stem + ".png", "rb").read(4) == b"\x89PNG"
assert [l["image"][:4] for l in lines[-2:]] == ["sub/"] * 2  # the subfolder sorts last
' "$data" "$work/out1"

# --jobs 2 gives the same maps, bit for bit, and the same records but for
# the times.
same_runs() {
    "$py" -c '
import json, sys
def strip(path):
    recs = [json.loads(l) for l in open(path)]
    for r in recs:
        r.pop("seconds"); r.pop("model_seconds")
    return recs
sys.exit(strip(sys.argv[1]) != strip(sys.argv[2]))' "$1/summary.jsonl" "$2/summary.jsonl" &&
        (cd "$1" && find . -name '*.npy' | sort | while read -r f; do cmp -s "$f" "$2/$f" || echo "$f"; done) |
        { ! grep -q .; }
}
same_runs "$work/out1" "$work/out2" && ok || fail "--jobs 2 differs from --jobs 1"

# ---- --resume -------------------------------------------------------------------
cp "$work/out1/summary.jsonl" "$work/summary-before"
expect 0 "0 explained, 10 skipped" "${net[@]}" "$work/in" -o "$work/out1" --budget 200 --resume
cmp -s "$work/summary-before" "$work/out1/summary.jsonl" && ok || fail "--resume changed the summary"
# An image whose record is missing is explained again, to the same map (its
# seed comes from its name alone), and the summary holds all ten again.
victim=$(cd "$work/out1" && ls *.JPEG.json | sed -n 3p)
victim=${victim%.json}
cp "$work/out1/$victim.npy" "$work/victim.npy"
rm "$work/out1/$victim.json"
expect 0 "1 explained, 9 skipped" "${net[@]}" "$work/in" -o "$work/out1" --budget 200 --resume --jobs 2
cmp -s "$work/victim.npy" "$work/out1/$victim.npy" && ok || fail "a resumed image got another map"
[ "$(wc -l < "$work/out1/summary.jsonl")" = 10 ] && ok || fail "the resumed summary lacks lines"

# ---- a list file, --top-k, --metrics, methods --------------------------------
printf '# two images\n%s\n\nsub/%s\n' "$(ls "$work/in" | grep JPEG | head -n 1)" \
    "$(ls "$work/in/sub" | head -n 1)" > "$work/in/two.txt"
expect 0 "2 images: 2 explained" "${net[@]}" --list "$work/in/two.txt" -o "$work/top" --top-k 2 \
    --budget 60 --method rise
check "--top-k 2: two explanations per image, best class first" '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/summary.jsonl")]
assert [l["rank"] for l in lines] == [1, 2, 1, 2], lines
for a, b in (lines[0:2], lines[2:4]):
    assert a["image"] == b["image"] and a["class"] == a["predicted"] != b["class"]
    assert a["score"] >= b["score"] and a["method"] == "rise"
' "$work/top"
[ -f "$work/top/sub/$(ls "$work/in/sub" | head -n 1).2.npy" ] && ok || fail "--top-k 2: no .2.npy"
one=$(ls "$work/in" | grep JPEG | head -n 1)
expect 0 "1 explained" "${net[@]}" "$work/in/$one" -o "$work/metrics/" --budget 60 --metrics \
    --target "$(sed -n 1p "$work/out1/summary.jsonl" | sed 's/.*"label": "\([^"]*\)".*/\1/')"
check "--metrics: deletion and insertion AUC in the record" '
import json, sys
r = json.loads(open(sys.argv[1] + "/summary.jsonl").readline())
assert 0 <= r["deletion_auc"] < r["insertion_auc"] <= 1, r
assert r["metric_queries"] == 2 * 224 + 2, r
' "$work/metrics"

# One image, the single mode: panel, --map, --json on stdout alone.
expect 0 "" "${net[@]}" "$work/in/$one" -o "$work/one.jpg" --map "$work/one.npy" --budget 60 \
    --json - --target top
"$exe" "${net[@]}" "$work/in/$one" -o "$work/one.png" --budget 60 --json - > "$work/one.json" &&
    check "single image: JSON on stdout" '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["prediction"] == r["target"] and r["queries"] == 60, r' "$work/one.json"
expect 0 "$(printf '0\t')" "${net[@]}" "$work/in/$one" --scores

# ---- failures: a message and status 1 ---------------------------------------------
expect 1 "cannot read .*missing.onnx" --model "$work/missing.onnx" "$work/in" -o "$work/x"
printf 'not a model' > "$work/bad.onnx"
expect 1 "cannot read .*bad.onnx" --model "$work/bad.onnx" "$work/in/$one" -q
expect 1 "cannot read labels" "${net[@]}" --labels "$work/missing.txt" "$work/in" -o "$work/x"
# A corrupt image fails alone: the others are explained, the summary says why.
mkdir -p "$work/mixed"
ln -s "$data/images/$(ls "$data/images" | head -n 1)" "$work/mixed/a.JPEG"
printf 'this is not a JPEG' > "$work/mixed/b.jpg"
expect 1 "b.jpg: unsupported or corrupt" "${net[@]}" "$work/mixed" -o "$work/mixed-out" --budget 60
check "a failed image has an error line in the summary" '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/summary.jsonl")]
assert lines[0]["image"] == "a.JPEG" and "class" in lines[0], lines
assert lines[1]["image"] == "b.jpg" and "corrupt" in lines[1]["error"], lines
' "$work/mixed-out"
touch "$work/a-file"
expect 1 "is not a folder" "${net[@]}" "$work/in" -o "$work/a-file" --budget 60
mkdir -p "$work/empty"
expect 1 "no images found" "${net[@]}" "$work/empty" -o "$work/x"

# An ONNX file OpenCV 4.6 cannot import (an Identity node on a weight, as
# PyTorch 1.13 exports leave them): the message names the node, and the
# script docs/cli.md points to makes the file readable.
if "$py" -c 'import onnx' 2>/dev/null; then
    "$py" - "$work/identity.onnx" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
w = numpy_helper.from_array(np.full((3, 4), 0.25, np.float32), "w")
g = helper.make_graph(
    [helper.make_node("Flatten", ["x"], ["flat"], name="flatten"),
     helper.make_node("Identity", ["w"], ["w_copy"], name="weight_copy"),
     helper.make_node("MatMul", ["flat", "w_copy"], ["y"], name="matmul")],
    "identity", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 1, 1])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], [w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), sys.argv[1])
PY
    expect 1 "cannot import node 'weight_copy' (Identity)" --model "$work/identity.onnx" --size 1 \
        "$work/in/$one" --scores
    "$py" "$src/examples/onnx_strip_identity.py" "$work/identity.onnx" -o "$work/stripped.onnx" 2>/dev/null &&
        ok || fail "onnx_strip_identity.py failed"
    expect 0 "$(printf '3\t')" --model "$work/stripped.onnx" --size 1 "$work/in/$one" --scores
else
    fail "python3-onnx is missing: the ONNX import error is not checked"
fi

# ---- wrong usage: status 2 ---------------------------------------------------------
printf 'a\nb\n' > "$work/two-labels.txt"
expect 2 "has 2 names, the model 1000 outputs" --model "$model" --labels "$work/two-labels.txt" "$work/in/$one"
expect 2 "unknown target class 'unicorn'" "${net[@]}" "$work/in" -o "$work/x" --target unicorn
expect 2 "target 1000: the model has 1000 outputs" "${net[@]}" "$work/in" -o "$work/x" --target 1000
expect 2 "target 'crane' names 2 classes: 134, 517" "${net[@]}" "$work/in" -o "$work/x" --target crane
expect 2 "not both" "${net[@]}" "$work/in" -o "$work/x" --target 1 --top-k 2
expect 2 "need an output folder" "${net[@]}" "$work/in/$one" --jobs 2
expect 2 "need an output folder" "${net[@]}" "$work/in/$one" --resume
expect 2 "for one image" "${net[@]}" "$work/in" -o "$work/x" --json "$work/x.json"
expect 2 "several images need an output folder" "${net[@]}" "$work/in/$one" "$work/in/$one"
expect 2 "would write the same outputs" "${net[@]}" "$work/in/$one" "$work/in/$one" -o "$work/x"
expect 2 "scene is for the shapes" "${net[@]}" --scene 1
expect 2 "unknown resize mode" "${net[@]}" "$work/in/$one" --resize squash
expect 2 "std '0' is not" "${net[@]}" "$work/in/$one" --std 0
expect 2 "size '0' is not" "${net[@]}" "$work/in/$one" --size 0

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
