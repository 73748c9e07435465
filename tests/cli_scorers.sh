#!/usr/bin/env bash
# cli_scorers.sh EXE WORKDIR - decam-explain's --embedder and --segmenter
# on two tiny ONNX models made here, whose right answers are known by
# construction: an "embedder" that sees only the image's top-left quadrant
# and a "segmenter" whose class 1 is each 4 x 4 cell's brightness. Skips
# (77) without OpenCV DNN or python3-onnx.
exe="$1"
work="$2/cli-scorers-test"
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
if ! "$exe" --version | grep -q "OpenCV DNN: yes"; then
    echo "skip: decam-explain was built without OpenCV DNN"
    exit 77
fi
if [ -z "$py" ] || ! "$py" -c 'import onnx, numpy' 2>/dev/null; then
    echo "skip: no python3 with onnx and numpy (python3-onnx) to make the models"
    exit 77
fi
rm -rf "$work" && mkdir -p "$work/in" || exit 1
. "$(dirname "$0")/cli_lib.sh"

# The models and the images (32 x 32): a bright square in the top-left
# quadrant (what the embedder sees) and one at the top right, x 20..28,
# y 4..12 (the segmenter's region), on a dim, noisy ground.
"$py" - "$work" <<'PY' || { echo "FAIL: cannot make the models"; exit 1; }
import os, struct, sys, zlib
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
out, S = sys.argv[1], 32
def model(name, nodes, inits, oshape):
    g = helper.make_graph(nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, S, S])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, oshape)], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), f"{out}/{name}.onnx")
# The embedder: 8 fixed random projections of the top-left quadrant alone
# (a 32 x 32 convolution whose weights are zero outside it).
w = np.random.default_rng(1).normal(size=(8, 3, S, S)).astype(np.float32)
w[:, :, S // 2:, :] = 0
w[:, :, :, S // 2:] = 0
model("embedder", [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[S, S]),
                   helper.make_node("Flatten", ["c"], ["y"])],
      [numpy_helper.from_array(w, "w")], ["N", 8])
# The segmenter: 2 classes on an 8 x 8 grid (4 x 4 pixels a cell): class 1
# is a cell's mean brightness, class 0 one minus it.
k = np.full((2, 3, 4, 4), 1 / 48, np.float32)
k[0] *= -1
model("segmenter", [helper.make_node("Conv", ["x", "k", "b"], ["y"], kernel_shape=[4, 4],
                                     strides=[4, 4])],
      [numpy_helper.from_array(k, "k"), numpy_helper.from_array(np.array([1, 0], np.float32), "b")],
      ["N", 2, 8, 8])
def png(path, a):
    h, w_ = a.shape[:2]
    raw = b"".join(b"\0" + a[y].tobytes() for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" +
                           chunk(b"IHDR", struct.pack(">IIBBBBB", w_, h, 8, 2, 0, 0, 0)) +
                           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
def scene(boxes, noise):
    a = np.full((S, S, 3), 30, np.uint8)
    a += np.random.default_rng(noise).integers(0, 20, (S, S, 3), dtype=np.uint8)
    for x0, y0, x1, y1, v in boxes:
        a[y0:y1, x0:x1] = v
    return a
png(f"{out}/in/a.png", scene([(4, 4, 12, 12, 230), (20, 4, 28, 12, 200)], 2))
png(f"{out}/in/b.png", scene([(6, 5, 13, 11, 220), (20, 4, 28, 12, 200)], 3))
# The reference: a.png's top-left quadrant, another picture elsewhere (the
# embedder does not see it: a.png's similarity to it is 1).
r = scene([(20, 4, 28, 12, 90), (4, 20, 28, 30, 250)], 4)
r[:S // 2, :S // 2] = scene([(4, 4, 12, 12, 230)], 2)[:S // 2, :S // 2]
png(f"{out}/ref.png", r)
PY
prep=(--size 32 --resize stretch --budget 300)
emb=(--embedder "$work/embedder.onnx" "${prep[@]}")
seg=(--segmenter "$work/segmenter.onnx" "${prep[@]}")

# check_record FILE PYTHON: the JSON record in FILE as r satisfies PYTHON's asserts.
check_record() {
    "$py" -c 'import json, sys
r = json.loads(open(sys.argv[1]).read())
exec(sys.argv[2])' "$1" "$2"
}

# ---- --embedder: why the image's embedding is what it is (its own), or
# matches the reference's; the map peaks in the quadrant the model sees.
expect 0 "similarity:  1.0000" "${emb[@]}" "$work/in/a.png" -q -o "$work/e.png" --json "$work/e.json" \
    --map "$work/e.npy"
check_record "$work/e.json" '
assert r["scorer"] == "embedder" and r["reference"] is None and r["similarity"] == "cosine", r
assert r["dimensions"] == 8 and abs(r["score"] - 1) < 1e-5, r
assert r["peak"][0] < 16 and r["peak"][1] < 16, r["peak"]
assert r["score_keep"] > r["score_drop"], r' && ok || fail "--embedder: the record"
"$py" -c 'import numpy as np, sys
m = np.load(sys.argv[1])
assert m.shape == (32, 32) and m.dtype == np.float32
q = [m[:16, :16].mean(), m[:16, 16:].mean(), m[16:, :16].mean(), m[16:, 16:].mean()]
assert q[0] > 1.5 * max(q[1:]), q' "$work/e.npy" && ok ||
    fail "--embedder: the map does not sit in the top-left quadrant"
expect 0 "to .*ref.png's" "${emb[@]}" "$work/in/a.png" -q -o "$work/e.png" --json "$work/er.json" \
    --reference "$work/ref.png"
check_record "$work/er.json" '
assert r["reference"].endswith("ref.png") and abs(r["score"] - 1) < 1e-4, r
assert r["peak"][0] < 16 and r["peak"][1] < 16, r["peak"]' && ok || fail "--reference: the record"
expect 0 "similarity:  -" "${emb[@]}" "$work/in/b.png" -q -o "$work/e.png" --json "$work/ed.json" \
    --reference "$work/ref.png" --similarity distance
check_record "$work/ed.json" 'assert r["similarity"] == "distance" and r["score"] < 0, r' && ok ||
    fail "--similarity distance: not the negative distance"

# ---- --segmenter: class 1 over the region of the top-right square.
expect 0 "class 1, its mean over cells \[5, 1, 7, 3) of the 8 x 8 output" "${seg[@]}" -t 1 \
    --region 20,4,28,12 "$work/in/a.png" -q -o "$work/s.png" --json "$work/s.json"
check_record "$work/s.json" '
assert r["scorer"] == "segmenter" and r["class"] == 1 and r["region"] == [20, 4, 28, 12], r
assert r["cells"] == [5, 1, 7, 3] and r["grid"] == [8, 8], r
assert 0.7 < r["score"] < 0.9, r["score"]
assert 20 <= r["peak"][0] < 28 and 4 <= r["peak"][1] < 12, r["peak"]' && ok ||
    fail "--segmenter: the record or the peak"
printf 'background\nobject\n' > "$work/seg-labels.txt"
expect 0 "object, its mean over cells \[0, 0, 8, 8)" "${seg[@]}" -t object --labels "$work/seg-labels.txt" \
    "$work/in/a.png" -q -o "$work/s.png"

# ---- Output folders: records, --resume, --jobs.
expect 0 "2 images: 2 explained" "${emb[@]}" --reference "$work/ref.png" "$work/in" -o "$work/eo" -q
check_record "$work/eo/a.png.json" '
assert r["image"] == "a.png" and r["scorer"] == "embedder", r
assert r["settings"]["reference"]["path"].endswith("ref.png"), r["settings"]
assert r["map"] == "a.png.npy" and r["panel"] == "a.png.png", r' && ok || fail "--embedder: the folder's record"
expect 0 "0 explained, 2 skipped" "${emb[@]}" --reference "$work/ref.png" "$work/in" -o "$work/eo" -q --resume
expect 0 "a.png: explaining again: its record a.png.json was made with another reference" \
    "${emb[@]}" "$work/in" -o "$work/eo" -q --resume
expect 0 "2 images: 2 explained" "${emb[@]}" "$work/in" -o "$work/eo2" -q -j 2
for f in a.png.npy b.png.npy; do
    cmp -s "$work/eo/$f" "$work/eo2/$f" && ok || fail "--jobs 2 changed $f"
done
expect 0 "2 images: 2 explained" "${seg[@]}" -t 1 --region 20,4,28,12 "$work/in" -o "$work/so" -q
check_record "$work/so/b.png.json" 'assert r["cells"] == [5, 1, 7, 3] and 20 <= r["peak"][0] < 28, r' && ok ||
    fail "--segmenter: the folder's record"
expect 0 "0 explained, 2 skipped" "${seg[@]}" -t 1 --region 20,4,28,12 "$work/in" -o "$work/so" -q --resume
expect 0 "explaining again: its record a.png.json was made with another region" \
    "${seg[@]}" -t 1 --region 0,0,16,16 "$work/in" -o "$work/so" -q --resume

# ---- Wrong usage (2) and failures (1).
expect 2 "--segmenter needs --target CLASS" "${seg[@]}" "$work/in/a.png" -o "$work/x.png"
expect 2 "--segmenter needs --target CLASS" "${seg[@]}" -t top "$work/in/a.png" -o "$work/x.png"
expect 2 "target 2: the model has 2 outputs" "${seg[@]}" -t 2 "$work/in/a.png" -o "$work/x.png"
expect 2 "--region 20,4,40,12 lies outside the 32 x 32 input" "${seg[@]}" -t 1 --region 20,4,40,12 \
    "$work/in/a.png" -o "$work/x.png"
expect 2 "region '4,4,2,8' is not" "${seg[@]}" -t 1 --region 4,4,2,8 "$work/in/a.png" -o "$work/x.png"
expect 2 "--region is for --segmenter" "${emb[@]}" --region all "$work/in/a.png" -o "$work/x.png"
expect 2 "--region needs --segmenter" --region all --scene 1 -o "$work/x.png"
expect 2 "--reference and --similarity are for --embedder" "${seg[@]}" -t 1 --reference "$work/ref.png" \
    "$work/in/a.png" -o "$work/x.png"
expect 2 "--reference and --similarity need --embedder" --similarity distance --scene 1 -o "$work/x.png"
expect 2 "--target and --labels are for classifiers and segmenters" "${emb[@]}" -t 1 "$work/in/a.png" \
    -o "$work/x.png"
expect 2 "unknown similarity 'dot'" "${emb[@]}" --similarity dot "$work/in/a.png" -o "$work/x.png"
expect 2 "give --embedder or --segmenter, not both" "${emb[@]}" --segmenter "$work/segmenter.onnx" \
    "$work/in/a.png" -o "$work/x.png"
expect 2 "give one model" "${emb[@]}" --model "$work/segmenter.onnx" "$work/in/a.png" -o "$work/x.png"
expect 2 "--top-k and --scores are for classifiers" "${emb[@]}" --top-k 2 "$work/in" -o "$work/x"
expect 1 "cannot read .*no-ref.png" "${emb[@]}" --reference "$work/no-ref.png" "$work/in/a.png" -o "$work/x.png"
expect 1 "the output is not N x C x H x W" --segmenter "$work/embedder.onnx" "${prep[@]}" -t 1 \
    "$work/in/a.png" -o "$work/x.png"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
