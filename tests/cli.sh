#!/bin/sh
# cli.sh EXE WORKDIR - decam-explain end to end: a golden run (fixed seed,
# checksum of the map) and every documented exit status.
exe="$1"
work="$2/cli-test"
rm -rf "$work" && mkdir -p "$work" || exit 1
failed=0
passed=0

# expect STATUS TEXT ARGS...: runs the CLI, checks the exit status and that
# TEXT appears in what it printed (stdout and stderr).
expect() {
    want="$1" text="$2"
    shift 2
    out=$("$exe" "$@" 2>&1)
    got=$?
    if [ "$got" != "$want" ] || ! printf '%s' "$out" | grep -q -- "$text"; then
        echo "FAIL: decam-explain $* -> status $got (want $want), output:"
        printf '%s\n' "$out" | sed 's/^/    /'
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
}

# The golden run: this seed, scene and budget give this map, bit for bit.
expect 0 "checksum 5d3c645aee76f480" --scene 7 --seed 3 --budget 500 -q -o "$work/golden.png"
expect 0 "pointing game" --scene 7 --seed 3 --budget 500 -q -o "$work/golden.png" --json "$work/r.json"
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
expect 1 "budget" --scene 1 --budget 10 -q -o "$work/x.png"
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

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
