#!/usr/bin/env bash
# tests/benchmarks.sh - runs the benchmarks and writes docs/benchmarks.md and
# docs/faithfulness.png from their output:
#   1. faithfulness per query (bench_faithfulness, 100 scenes: minutes),
#   2. library overhead and 3. scaling (bench_overhead).
# Installs gnuplot for the plot when missing. BENCH_SCENES shrinks step 1.
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
"$build/tests/bench_faithfulness" "$csv" > "$faith"
"$build/tests/bench_overhead" > "$over"
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

$(cat "$faith")

![faithfulness against queries](faithfulness.png)

MD
    cat "$over"
} > docs/benchmarks.md
echo "wrote docs/benchmarks.md and docs/faithfulness.png"
