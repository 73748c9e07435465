#!/usr/bin/env bash
# cli.sh EXE WORKDIR - decam-explain end to end: a golden run (fixed seed,
# checksum of the map) and every documented exit status.
exe="$1"
work="$2/cli-test"
rm -rf "$work" && mkdir -p "$work" || exit 1
. "$(dirname "$0")/cli_lib.sh"

# The golden run: this seed, scene and budget give this map, bit for bit.
expect 0 "checksum 5d3c645aee76f480" --scene 7 --seed 3 --budget 500 -q -o "$work/golden.png"
# The report names the panel "panel:", and "map:" only the map.
expect 0 "panel: *$work/golden.png" --scene 7 --seed 3 --budget 500 -q -o "$work/golden.png"
expect 0 "pointing game" --scene 7 --seed 3 --budget 500 -q -o "$work/golden.png" --json "$work/r.json"
grep -q '"probabilities": \[' "$work/r.json" || { echo "FAIL: the shapes classifier's probabilities"; failed=$((failed + 1)); }
grep -q '"map_checksum": "5d3c645aee76f480"' "$work/r.json" || { echo "FAIL: JSON report"; failed=$((failed + 1)); }
[ -s "$work/golden.png" ] || { echo "FAIL: no panel written"; failed=$((failed + 1)); }

# The panel it wrote is an image the CLI itself can read back.
expect 0 "prediction" "$work/golden.png" --budget 100 -q -o "$work/again.png"
expect 0 "usage:" --help

# Failures: exit 1 with the library's message.
expect 1 "input/output error" "$work/does-not-exist.png" -q -o "$work/x.png"
printf 'this is not an image' > "$work/corrupt.png"
expect 1 "unsupported or corrupt" "$work/corrupt.png" -q -o "$work/x.png"
head -c 100 "$work/golden.png" > "$work/truncated.png"
expect 1 "unsupported or corrupt" "$work/truncated.png" -q -o "$work/x.png"
expect 1 "cannot load the classifier" --scene 1 -w "$work/no-weights" -q
# The library's own message, not "(no detail)": read before any other call
# on the context (decam_get_stats() after a failed run used to clear it).
expect 1 "budget = 10 queries is less than" --scene 1 --budget 10 -q -o "$work/x.png"
expect 1 "input/output error" --scene 1 --budget 60 -q -o "$work/no-dir/x.png"

# Wrong usage: exit 2 with a one-line reason.
expect 2 "unknown option '--frobnicate'" --frobnicate
expect 2 "budget 'lots' is not" --scene 1 --budget lots
expect 2 "grid '65' is not" --scene 1 --grid 65
expect 2 "unknown method 'gradcam'" --scene 1 --method gradcam
expect 2 "unknown objective" --scene 1 --objective both-ways
expect 2 "unknown target class 'hexagon'" --scene 1 --target hexagon -q
expect 2 "needs a value" --scene
expect 2 "no image given"
expect 2 "not both" --scene 1 "$work/golden.png"

# ---- The CLI tells the truth: every output valid, every failure a message
# and a nonzero exit. (Each case names -o, so that even a CLI that ignored
# the option under test would write into the test's folder only.)
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || true)
# valid_json FILE: the whole file is one JSON value (Python's parser, which
# refuses NaN only when asked to: parse_constant makes it an error).
valid_json() {
    if [ -n "$py" ]; then
        "$py" -c 'import json, sys
def bad(c): raise ValueError(c)
json.load(open(sys.argv[1]), parse_constant=bad)' "$1" 2>/dev/null
    else
        ! grep -qiE '(nan|inf)[,}]?$' "$1"
    fi
}

# A seed the library refuses is refused, not ignored and then reported.
expect 2 "seed '9007199254740992' is not" --scene 1 --seed 9007199254740992 -q -o "$work/x.png"
expect 2 "seed '-1' is not" --scene 1 --seed -1 -q -o "$work/x.png"
expect 0 "prediction" --scene 1 --seed 9007199254740991 --budget 60 -q -o "$work/s.png" --json "$work/s.json"
grep -q '"seed": 9007199254740991,' "$work/s.json" && ok || fail "the largest seed is not the one reported"

# A flat map (a 1 x 1 grid moves every pixel alike) has no energy: null, not nan.
expect 0 "energy" --scene 1 --grid 1 --budget 100 -q -o "$work/flat.png" --json "$work/flat.json"
valid_json "$work/flat.json" && grep -q '"energy_pointing_game": null' "$work/flat.json" && ok ||
    fail "flat map: the JSON report is not valid JSON"

# --json - : standard output is the JSON report alone.
"$exe" --scene 2 --budget 60 -q -o "$work/j.png" --json - > "$work/stdout.json" 2>"$work/err" &&
    valid_json "$work/stdout.json" && ok || fail "--json - does not print JSON alone"

# A failed --json write says so and exits 1; the panel path is never a JSON.
expect 1 "cannot write .*no-dir/r.json" --scene 1 --budget 60 -q -o "$work/x.png" --json "$work/no-dir/r.json"
mkdir -p "$work/a-dir"
expect 1 "cannot write .*a-dir" --scene 1 --budget 60 -q -o "$work/x.png" --json "$work/a-dir"

# A closed standard output, and a pipe whose reader has gone: a message and 1.
"$exe" --scene 1 --budget 60 -q -o "$work/x.png" >&- 2>"$work/err"
rc=$?
[ "$rc" = 1 ] && grep -q "standard output" "$work/err" && ok ||
    fail "closed stdout: status $rc, stderr: $(cat "$work/err")"
"$exe" --help >&- 2>"$work/err"
rc=$?
[ "$rc" = 1 ] && grep -q "standard output" "$work/err" && ok || fail "--help to a closed stdout: status $rc"
if [ -n "$py" ]; then
    # The pipe's read end is closed before the program starts: no race.
    "$py" - "$exe" "$work" <<'PY'
import os, subprocess, sys
exe, work = sys.argv[1], sys.argv[2]
r, w = os.pipe()
os.close(r)
p = subprocess.run([exe, "--scene", "1", "--budget", "60", "-q", "-o", work + "/x.png"],
                   stdout=w, stderr=subprocess.PIPE, text=True)
os.close(w)
ok = p.returncode == 1 and "standard output" in p.stderr
if not ok:
    print(f"status {p.returncode}, stderr {p.stderr!r}")
sys.exit(0 if ok else 1)
PY
    [ $? = 0 ] && ok || fail "stdout to a closed pipe"
fi

# -o names the format: .jpg gives JPEG bytes, .png PNG, anything else is refused.
expect 0 "prediction" --scene 1 --budget 60 -q -o "$work/panel.jpg"
[ "$(head -c 3 "$work/panel.jpg" | od -An -tx1 | tr -d ' ')" = ffd8ff ] && ok || fail "-o panel.jpg is not a JPEG"
expect 0 "prediction" --scene 1 --budget 60 -q -o "$work/panel.JPEG"
[ "$(head -c 3 "$work/panel.JPEG" | od -An -tx1 | tr -d ' ')" = ffd8ff ] && ok || fail "-o panel.JPEG is not a JPEG"
[ "$(head -c 4 "$work/golden.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] && ok || fail "-o golden.png is not a PNG"
expect 2 "cannot tell the panel's format from '.*panel.gif'" --scene 1 --budget 60 -q -o "$work/panel.gif"
expect 2 "cannot tell the panel's format" --scene 1 --budget 60 -q -o "$work/panel"
[ ! -e "$work/panel.gif" ] && ok || fail "a refused -o was written"

# --map writes the map NumPy reads: float32, 64 x 64.
expect 0 "map: *$work/m.npy (checksum 5d3c645aee76f480)" --scene 7 --seed 3 --budget 500 -q -o "$work/m.png" --map "$work/m.npy"
if [ -n "$py" ] && "$py" -c 'import numpy' 2>/dev/null; then
    "$py" -c 'import numpy as np, sys
m = np.load(sys.argv[1])
assert m.dtype == np.float32 and m.shape == (64, 64) and m.max() == 1, (m.dtype, m.shape)' \
        "$work/m.npy" && ok || fail "--map is not a 64 x 64 float32 .npy"
fi
expect 2 "must end in .npy" --scene 1 -q --map "$work/m.txt" -o "$work/x.png"

# Library parameters by name; a bad one is wrong usage, before any work.
expect 0 "prediction" --scene 1 --budget 60 -q -o "$work/x.png" --set area_weight=0.3
expect 2 "unknown parameter 'frob'" --scene 1 --set frob=1 -o "$work/x.png"
# A misspelt name gets the nearest one; an enum takes its values' names.
expect 2 "unknown parameter 'populaton' (did you mean 'population'?)" --scene 1 --set populaton=32 -o "$work/x.png"
expect 0 "prediction" --scene 1 --budget 60 -q -o "$work/x.png" --set baseline=constant --json "$work/bl.json"
expect 2 "'foo' is neither a number nor one of: constant, mean" --scene 1 --set baseline=foo -o "$work/x.png"
expect 2 "--set budget: 'lots' is not a number" --scene 1 --set budget=lots -o "$work/x.png"
# --threads has no short option; -j is --jobs, as for make and xargs.
expect 0 "prediction" --scene 1 --budget 60 -q -o "$work/x.png" --threads 2
expect 2 "--jobs need an output folder" --scene 1 --budget 60 -q -o "$work/x.png" -j 2
expect 2 "area_weight" --scene 1 --set area_weight=-5 -o "$work/x.png"
expect 2 "needs an output folder" --scene 1 --top-k 2 -o "$work/x.png"

# Many images with the shapes classifier (no OpenCV needed): an output
# folder created with its parents, the same maps with --jobs 2, --resume.
mkdir -p "$work/many/sub"
cp "$work/golden.png" "$work/many/a.png"
cp "$work/panel.jpg" "$work/many/sub/b.jpg"
expect 0 "2 images: 2 explained" "$work/many" -o "$work/deep/er/one/" --budget 100 -q
expect 0 "2 images: 2 explained" "$work/many" -o "$work/deep/er/two" --budget 100 -q --jobs 2
for f in a.png.npy sub/b.jpg.npy; do
    cmp -s "$work/deep/er/one/$f" "$work/deep/er/two/$f" && ok || fail "--jobs 2 changed $f"
done
[ "$(wc -l < "$work/deep/er/one/summary.jsonl")" = 2 ] && ok || fail "the summary lacks lines"
expect 0 "2 images: 2 explained" "$work/many" -o "$work/deep/er/three" --budget 100 -q -j 2
cmp -s "$work/deep/er/one/a.png.npy" "$work/deep/er/three/a.png.npy" && ok || fail "-j 2 changed a map"
# Off a terminal (CI, nohup) and without -q: a progress line per image,
# with the count, the time and the time left.
"$exe" "$work/many" -o "$work/deep/er/lines" --budget 100 > /dev/null 2> "$work/lines.err"
grep -q "1/2 images (1 explained, 0 skipped, 0 failed), .* s, ETA" "$work/lines.err" &&
    grep -q "2/2 images" "$work/lines.err" && ok || fail "no progress lines: $(cat "$work/lines.err")"
# --top-k K: K maps from one run of the budget: every record has that run's
# queries and times; the kept and removed scores are the first class's.
expect 0 "2 images: 2 explained" "$work/many" -o "$work/topk" --budget 100 -q --top-k 2
if [ -n "$py" ]; then
    "$py" -c 'import json, sys
a, b = (json.loads(open(sys.argv[1] + f"/a.png.{k}.json").read()) for k in (1, 2))
assert (a["rank"], b["rank"]) == (1, 2) and a["class"] != b["class"], (a, b)
assert a["queries"] == b["queries"] == 100, (a["queries"], b["queries"])
assert a["model_seconds"] == b["model_seconds"] and a["seconds"] == b["seconds"]
assert a["score_keep"] is not None and b["score_keep"] is None' "$work/topk" && ok ||
        fail "--top-k 2 is not one run"
fi
expect 0 "0 explained, 2 skipped" "$work/many" -o "$work/deep/er/one" --budget 100 -q --resume
# valid_jsonl FILE N: N lines, each one JSON object with an "image".
valid_jsonl() {
    [ -n "$py" ] || return 0
    "$py" -c 'import json, sys
def bad(c): raise ValueError(c)
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "no newline at the end"
recs = [json.loads(l, parse_constant=bad) for l in lines[:-1]]
assert len(recs) == int(sys.argv[2]) and all("image" in r for r in recs), recs' "$1" "$2"
}
# --resume reuses a record only when it is whole and made with these
# settings: a truncated or empty one (a crash) is redone, and so is one of
# another budget or --set; each says why on standard error. The summary
# holds one valid JSON line per image all along.
one="$work/deep/er/one"
head -c 40 "$one/a.png.json" > "$one/a.png.json.part" && mv "$one/a.png.json.part" "$one/a.png.json"
expect 0 "a.png: explaining again: its record a.png.json: it is not one whole line of JSON" \
    "$work/many" -o "$one" --budget 100 -q --resume
head -c 40 "$one/a.png.json" > "$one/a.png.json.part" && mv "$one/a.png.json.part" "$one/a.png.json"
expect 0 "1 explained, 1 skipped" "$work/many" -o "$one" --budget 100 -q --resume
valid_jsonl "$one/summary.jsonl" 2 && ok || fail "a truncated record broke the summary"
cmp -s "$one/a.png.npy" "$work/deep/er/two/a.png.npy" && ok || fail "the redone image got another map"
: > "$one/sub/b.jpg.json"
expect 0 "sub/b.jpg: explaining again: its record b.jpg.json: it is empty" \
    "$work/many" -o "$one" --budget 100 -q --resume
valid_jsonl "$one/summary.jsonl" 2 && ok || fail "an empty record broke the summary"
expect 0 "explaining again: its record a.png.json was made with another budget (100, now 60)" \
    "$work/many" -o "$one" --budget 60 -q --resume
grep -q '"budget": 60' "$one/a.png.json" && ok || fail "a record of another budget was reused"
expect 0 "2 explained, 0 skipped" "$work/many" -o "$one" --budget 60 -q --resume --set area_weight=0.3
expect 0 "0 explained, 2 skipped" "$work/many" -o "$one" --budget 60 -q --resume --set area_weight=0.3
valid_jsonl "$one/summary.jsonl" 2 && ok || fail "the resumed summary is not one JSON line per image"
expect 2 "writes one panel" --scene 1 -o "$work/deep/er/one" -q
# An output folder inside the input folder is not searched (so a rerun does
# not explain the last run's panels), and says so; the input folder itself
# as the output folder is refused.
mkdir -p "$work/nest"
cp "$work/golden.png" "$work/nest/a.png"
expect 0 "1 image: 1 explained" "$work/nest" -o "$work/nest/out" --budget 60 -q
expect 0 "not searching .*nest/out/* for images: it is the output folder" "$work/nest" \
    -o "$work/nest/out/" --budget 60 -q
expect 0 "1 image: 1 explained" "$work/nest" -o "$work/nest/./out" --budget 60 -q
[ "$(wc -l < "$work/nest/out/summary.jsonl")" = 1 ] && ok || fail "the output folder was searched"
expect 2 "the output folder is the input folder" "$work/nest" -o "$work/nest/" --budget 60 -q

# ---- Tiny ONNX models made here (OpenCV DNN and python3-onnx): a model
# whose scores are constant logits, 2, -1 and 0.5 for any 8 x 8 image.
onnx_ok=
if "$exe" --version | grep -q "OpenCV DNN: yes" && [ -n "$py" ] && "$py" -c 'import onnx' 2>/dev/null; then
    "$py" - "$work/const.onnx" <<'PY' && onnx_ok=1
import sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
w = numpy_helper.from_array(np.zeros((192, 3), np.float32), "w")
b = numpy_helper.from_array(np.array([2, -1, 0.5], np.float32), "b")
g = helper.make_graph(
    [helper.make_node("Flatten", ["x"], ["flat"]),
     helper.make_node("MatMul", ["flat", "w"], ["xw"]),
     helper.make_node("Add", ["xw", "b"], ["y"])],
    "constant", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [w, b])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)]), sys.argv[1])
PY
else
    echo "note: no OpenCV DNN or python3-onnx: the ONNX model cases are not run"
fi
const=(--model "$work/const.onnx" --size 8)
if [ -n "$onnx_ok" ]; then
    # A constant model gives a flat map: the library's warning is shown,
    # with the image's name, and kept in the record; the run succeeds.
    expect 0 "golden.png: warning: the map is flat" "${const[@]}" "$work/golden.png" --budget 100 -q \
        -o "$work/c.png" --json "$work/c.json"
    valid_json "$work/c.json" && grep -q '"warnings": \["the map is flat' "$work/c.json" && ok ||
        fail "flat map: no warning in the JSON report"
    mkdir -p "$work/const-in"
    cp "$work/golden.png" "$work/const-in/a.png"
    expect 0 "a.png: warning: the map is flat" "${const[@]}" "$work/const-in" -o "$work/const-out" --budget 100 -q
    grep -q '"warnings": \["the map is flat' "$work/const-out/a.png.json" && ok ||
        fail "flat map: no warning in the record"
    # Logits are scores, not probabilities: "score =" in the report and
    # "scores" in the JSON; with --softmax they are probabilities.
    expect 0 "prediction:  class 0 (score = 2.0000)" "${const[@]}" "$work/golden.png" --budget 100 -q \
        -o "$work/c.png" --json "$work/c.json"
    grep -q '"scores": \[2.000000, -1.000000, 0.500000\]' "$work/c.json" &&
        ! grep -q probabilities "$work/c.json" && ok || fail "logits reported as probabilities"
    expect 0 "prediction:  class 0 (p = 0.7" "${const[@]}" "$work/golden.png" --budget 100 -q \
        -o "$work/c.png" --json "$work/c.json" --softmax
    grep -q '"probabilities": \[0.7' "$work/c.json" && ok || fail "--softmax: no probabilities"
    # A name two labels share is refused with both indices; a number picks one.
    printf 'cat\ndog\ncat\n' > "$work/dup-labels.txt"
    expect 2 "target 'cat' names 2 classes: 0, 2 (give the number)" "${const[@]}" \
        --labels "$work/dup-labels.txt" "$work/golden.png" -t cat --budget 100 -q -o "$work/c.png"
    expect 0 "explained:   cat, score 0.5000" "${const[@]}" --labels "$work/dup-labels.txt" \
        "$work/golden.png" -t 2 --budget 100 -q -o "$work/c.png"
    expect 0 "explained:   dog" "${const[@]}" --labels "$work/dup-labels.txt" \
        "$work/golden.png" -t dog --budget 100 -q -o "$work/c.png"
fi

# A message is one line, whatever the path holds.
nl_path="$work/new
line.png"
out=$("$exe" "$nl_path" -q -o "$work/x.png" 2>&1)
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && ok || fail "a path with a newline breaks the message: $out"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
