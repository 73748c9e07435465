#!/bin/sh
# run.sh BUILD_DIR - fuzzes the PNG and JPEG loaders, the preparation and
# rendering functions of decam_io.h, the whole public API, and callbacks
# that misuse the API (fuzz_callbacks.c) with libFuzzer.
#
# Builds tests/fuzz/fuzz_image.c (twice: fuzz_png, fuzz_jpeg), fuzz_prepare.c
# and fuzz_api.c with clang
# (-fsanitize=fuzzer,address,undefined) against the library's sources
# directly (BUILD_DIR supplies the generated include/decam_version.h),
# writes the seed corpora with make_corpus.c, runs each target for
# FUZZ_SECONDS seconds (default 60) and prints the executions per target.
# Exits nonzero if a target finds a crash, leak, timeout or sanitizer
# report; the input that caused it is left in BUILD_DIR/fuzz/. Inputs
# that found bugs before (tests/fuzz/regressions/TARGET/) are run first.
# Without clang it prints "fuzz: skipped (no clang)" and succeeds.
set -eu

if [ $# -ne 1 ] || [ ! -f "$1/include/decam_version.h" ]; then
    echo "usage: $0 BUILD_DIR   (a configured meson build directory)" >&2
    exit 2
fi
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: skipped (no clang)"
    exit 0
fi

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
out="$build/fuzz"
seconds=${FUZZ_SECONDS:-60}
# FUZZ_TARGETS picks some of the targets (default: all).
targets=${FUZZ_TARGETS:-png jpeg prepare api callbacks}
mkdir -p "$out"

# libFuzzer's runtime ships separately on Debian (libclang-rt-N-dev).
major=$(clang --version | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n 1)
if command -v dpkg >/dev/null 2>&1 && [ -n "$major" ]; then
    pkg="libclang-rt-$major-dev"
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then
        echo "fuzz: installing $pkg (libFuzzer runtime)"
        apt-get install -y "$pkg" >"$out/apt.log" 2>&1 || {
            echo "fuzz: cannot install $pkg (see $out/apt.log)" >&2
            exit 1
        }
    fi
fi

png_cflags=$(pkg-config --cflags libpng libjpeg)
png_libs=$(pkg-config --libs libpng libjpeg)
common="-std=c11 -g -O1 -fno-omit-frame-pointer -I$src/include -I$src/lib -I$build/include"
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

# The whole library, every lib/*.c (the API target drives all of it).
objs=""
for path in "$src"/lib/*.c; do
    f=$(basename "$path")
    o="$out/${f%.c}.o"
    # shellcheck disable=SC2086
    clang $common $png_cflags $sanitize -fsanitize=fuzzer-no-link -DDECAM_BUILDING \
        -c "$src/lib/$f" -o "$o"
    objs="$objs $o"
done
for t in $targets; do
    case $t in
    png) target="fuzz_image.c" ;;
    jpeg) target="fuzz_image.c -DFUZZ_JPEG" ;;
    *) target="fuzz_$t.c" ;;
    esac
    # shellcheck disable=SC2086
    clang $common $sanitize -fsanitize=fuzzer "$src/tests/fuzz/"$target $objs \
        $png_libs -lm -pthread -o "$out/fuzz_$t"
done

# Seed corpora, written afresh; what the fuzzer finds goes to corpus-*.
# shellcheck disable=SC2086
clang $common $png_cflags "$src/tests/fuzz/make_corpus.c" $png_libs -o "$out/make_corpus"
rm -rf "$out/seeds-png" "$out/seeds-jpeg"
mkdir -p "$out/seeds-png" "$out/seeds-jpeg" "$out/seeds-api" "$out/seeds-prepare" \
    "$out/corpus-png" "$out/corpus-jpeg" "$out/corpus-api" "$out/corpus-prepare" \
    "$out/seeds-callbacks" "$out/corpus-callbacks"
"$out/make_corpus" "$out/seeds-png" "$out/seeds-jpeg"

status=0
for t in $targets; do
    log="$out/fuzz_$t.log"
    # Inputs that once found a bug (tests/fuzz/regressions/TARGET) run first,
    # with the seeds; what the fuzzer finds goes to corpus-TARGET only.
    set -- "$out/corpus-$t" "$out/seeds-$t"
    [ ! -d "$src/tests/fuzz/regressions/$t" ] || set -- "$@" "$src/tests/fuzz/regressions/$t"
    if "$out/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/crash-$t-" "$@" >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cover=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    echo "fuzz_$t: $result, ${runs:-?} executions in $seconds s ($cover; log $log)"
    if [ "$result" = FAILED ]; then
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20 >&2 || true
    fi
done
exit $status
