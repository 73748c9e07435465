#!/usr/bin/env bash
# tests/benchmarks.sh - runs the benchmarks and writes docs/benchmarks.md and
# docs/faithfulness.png from their output:
#   1. faithfulness per query (bench_faithfulness, 100 scenes: minutes),
#   2. library overhead and 3. scaling (bench_overhead),
#   4. faithfulness on a real pretrained ImageNet classifier (bench_real.py,
#      ../shared/realdata; hours for the 100 reporting images on 2 cores),
#      and docs/real_model.png.
# Installs gnuplot for the plot when missing, and python3-opencv,
# python3-pil and python3-matplotlib for step 4. BENCH_SCENES shrinks
# step 1; FAITH_CSV and FAITH_MD reuse the CSV and table of a finished
# bench_faithfulness run instead of running it again. REAL_IMAGES shrinks
# step 4 (default 100); REAL_ARGS adds options of bench_real.py; REAL_MD
# (its printed table) and REAL_PNG (its plot) reuse a finished run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/bench}
as_root=""
[ "$(id -u)" = 0 ] || as_root="sudo"
if ! command -v gnuplot >/dev/null; then
    $as_root apt-get install -y -qq gnuplot-nox >/dev/null
fi
realdata=../shared/realdata
if [ -d "$realdata" ]; then
    for p in python3-opencv python3-pil python3-matplotlib; do
        dpkg -s "$p" >/dev/null 2>&1 ||
            DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends "$p" >/dev/null || true
    done
fi
[ -d "$build" ] || meson setup "$build" -Dbuildtype=release >/dev/null
ninja -C "$build" >/dev/null # the library the binding of step 4 loads
ninja -C "$build" tests/bench_faithfulness tests/bench_overhead >/dev/null

csv=$(mktemp)
faith=$(mktemp)
over=$(mktemp)
trap 'rm -f "$csv" "$faith" "$over"' EXIT
if [ -n "${FAITH_CSV:-}" ] && [ -n "${FAITH_MD:-}" ]; then
    cp "$FAITH_CSV" "$csv" # a finished run of the same program, reused
    cp "$FAITH_MD" "$faith"
else
    "$build/tests/bench_faithfulness" "$csv" > "$faith"
fi
"$build/tests/bench_overhead" > "$over"

# The real model: the binding loads this build's library.
real=$(mktemp)
trap 'rm -f "$csv" "$faith" "$over" "$real"' EXIT
if [ -n "${REAL_MD:-}" ]; then
    cp "$REAL_MD" "$real"
    [ -z "${REAL_PNG:-}" ] || cp "$REAL_PNG" docs/real_model.png
else
    # shellcheck disable=SC2086 # REAL_ARGS is a list of options
    DECAM_LIBRARY="$build/lib/libdecam.so" /usr/bin/python3 tests/bench_real.py \
        --images "${REAL_IMAGES:-100}" --plot docs/real_model.png ${REAL_ARGS:-} > "$real"
fi

# The library's share of the time with the trained classifier as the model:
# DE-CAM defaults (1000 queries) on 20 scenes, from decam-explain's reports.
ninja -C "$build" examples/decam-explain >/dev/null
share=$(for s in $(seq 30000 30019); do
    "$build/examples/decam-explain" --scene "$s" -q -o /dev/null --json - 2>/dev/null
done | awk -F': ' '/"seconds"/ {t += $2} /"model_seconds"/ {m += $2}
    END {printf "| %.3f | %.3f | %.3f | %.1f%% |", t / 20, m / 20, (t - m) / 20, 100 * (t - m) / t}')
sed -i 's/, stride/; stride/' "$csv" # older output had a comma in the label

# One curve per method: a metric against queries per image.
plot() { # column title
    printf 'set title "%s"; set xlabel "model queries per image"; set logscale x 2;' "$2"
    printf 'set key bottom right; set grid;'
    printf 'plot for [m in "DE-CAM RISE occlusion"] "< grep ^".m.", %s" ' "$csv"
    printf 'using 3:%s with linespoints title m;' "$1"
}
gnuplot <<GP
set datafile separator ","
set terminal png size 1200,900
set output "docs/faithfulness.png"
set multiplot layout 2,2 title "Faithfulness per query: the trained shapes classifier, 100 scenes"
$(plot 4 "deletion AUC (lower is better)")
$(plot 5 "insertion AUC (higher is better)")
$(plot 6 "pointing game")
$(plot 7 "energy pointing game")
unset multiplot
GP

machine="$(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
{
    cat <<MD
# Benchmarks

Measured by \`tests/benchmarks.sh\` (which builds \`$build\` with
\`-Dbuildtype=release\`), on $(date -u +%Y-%m-%d): $machine.
The two benchmark programs are also meson benchmarks:
\`meson test -C BUILD --benchmark --suite faithfulness\` and \`--suite overhead\`.

## 1. Faithfulness per query

\`tests/bench_faithfulness.c\`: DE-CAM, RISE and occlusion explain the
project's trained shapes classifier (\`examples/shapes\`) on the same 100
held-out scenes; \`decam_evaluate()\` scores every map with the same model
(RISE protocol deletion/insertion, 64 steps of 64 pixels) and against the
object's mask (pointing game, energy). Means over the scenes. Defaults
otherwise (blur baseline, sigma 16). Seconds include the model.
The last two columns compare maps by Spearman's rank correlation
([metrics.md](metrics.md)): stability, each scene explained again with
seed + 7919 (budgets up to 2000, and occlusion, deterministic, as a
check); randomisation, the trained classifier's map against the map of a
copy re-initialised as training began (\`cnn_randomize\`, explained with
seed + 7919; budget 1000 and occlusion): the model-randomisation sanity
check of Adebayo et al. (NeurIPS 2018), where low is good. "-": not
measured.

$(cat "$faith")

![faithfulness against queries](faithfulness.png)

MD
    cat "$over"
    cat <<MD

### Share of time outside the model, with the trained classifier

DE-CAM defaults (1000 queries, batches of 48) on 20 scenes (seeds
30000..30019), the shapes CNN as the model (\`decam-explain --scene\`),
means per explanation:

| seconds in all | in the model | in the library | library share |
|---|---|---|---|
$share
MD
    if grep -q '^bench_real: skipped' "$real"; then
        printf '\n## 4. A real pretrained model\n\nNot measured in this run: %s\n' \
            "$(sed 's/^bench_real: skipped: //' "$real")"
    else
        cat <<MD

## 4. A real pretrained model

\`tests/bench_real.py\`: MobileNet v1 0.25 (ImageNet-1k, ONNX; nobody on
this project trained it), read by OpenCV's DNN module through the Python
binding, on the labelled photographs of \`../shared/realdata\` (its
README). Every method runs through the library's callback, and
\`decam_evaluate()\` scores every map in the RISE protocol: 224 steps of
224 pixels, deletion to black, insertion from a sigma-5 blur; the score is
the true class's probability. Means +- standard errors over the images
(the reporting half, images 101-200 of \`images.json\`, is never used to
choose settings). Wins: images on which the method's deletion is lower /
insertion higher / insertion minus deletion higher than DE-CAM at 500
queries with the defaults. Stability: Spearman's rho between the maps of
seeds i and i + 7919 (image i explained with seed i). RISE "published":
grid 7, keep 0.5, black masks (Petsiuk et al.); "library defaults": the
blur baseline. Occlusion: a black 32 x 32 window at strides whose query
counts come near each DE-CAM budget. Random: a 7 x 7 uniform grid,
upsampled bilinearly. Seconds include the model (OpenCV, one image costs
what the footnote says).

$(cat "$real")

![real model: AUC against queries](real_model.png)
MD
    fi
} > docs/benchmarks.md
echo "wrote docs/benchmarks.md and docs/faithfulness.png"
