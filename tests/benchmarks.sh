#!/usr/bin/env bash
# tests/benchmarks.sh - runs the benchmarks and writes docs/benchmarks.md and
# docs/faithfulness.png from their output:
#   1. faithfulness per query (bench_faithfulness, 100 scenes: minutes),
#   2. library overhead and 3. scaling (bench_overhead).
# Installs gnuplot for the plot when missing. BENCH_SCENES shrinks step 1;
# FAITH_CSV and FAITH_MD reuse the CSV and table of a finished
# bench_faithfulness run instead of running it again.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/bench}
if ! command -v gnuplot >/dev/null; then
    as_root=""
    [ "$(id -u)" = 0 ] || as_root="sudo"
    $as_root apt-get install -y -qq gnuplot-nox >/dev/null
fi
[ -d "$build" ] || meson setup "$build" -Dbuildtype=release >/dev/null
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
} > docs/benchmarks.md
echo "wrote docs/benchmarks.md and docs/faithfulness.png"
