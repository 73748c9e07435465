#!/usr/bin/env bash
# tests/run.sh - installs what is missing, builds with warnings as errors and
# runs every test: the suite itself, again under ASan+UBSan, the core suites
# under valgrind, the threaded tests under ThreadSanitizer, the soak
# benchmark, the core without image I/O, and (with clang) the fuzzers.
#
#   tests/run.sh           everything
#   tests/run.sh --quick   the plain suite only
#
# Build directories go under build/ (BUILD_ROOT overrides). The last line is
# "N passed, N failed" over all the passes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_root=${BUILD_ROOT:-$root/build}
quick=0
[ "${1:-}" = "--quick" ] && quick=1

# ---- dependencies (Debian 12 package names) ---------------------------------
# libopencv-dnn-dev, python3-onnx and python3-numpy: decam-explain --model and
# its test on ../shared/realdata (tests/cli_real.sh, in the plain suite).
need=(meson ninja-build pkg-config gcc g++ binutils libcmocka-dev libpng-dev libjpeg62-turbo-dev
    libopencv-dnn-dev python3-onnx python3-numpy)
[ $quick = 1 ] || need+=(valgrind clang libclang-rt-14-dev)
tests/ensure-packages.sh "${need[@]}"

passed=0
failed=0
# Runs `meson test` in a build dir and adds its counts to the totals.
run_suite() {
    local name=$1 dir=$2
    shift 2
    echo "==== $name"
    local rc=0
    meson test -C "$dir" --print-errorlogs "$@" || rc=$?
    # meson names the log after the wrapper (testlog-valgrind.json): newest.
    local log
    log=$(ls -t "$dir"/meson-logs/testlog*.json | head -n 1)
    local ok fail
    ok=$(grep -c '"result": "OK"' "$log" || true)
    fail=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
    passed=$((passed + ok))
    failed=$((failed + fail))
    if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then failed=$((failed + 1)); fi
}

configure() {
    local dir=$1
    shift
    if [ -d "$dir" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" -Dtests=enabled "$@" >/dev/null
    fi
    ninja -C "$dir" >/dev/null
}

start=$(date +%s)
configure "$build_root/default" -Dwerror=true
run_suite "default build" "$build_root/default"

if [ $quick = 0 ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    configure "$build_root/sanitize" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
    run_suite "ASan + UBSan" "$build_root/sanitize" --no-suite slow

    run_suite "valgrind (memcheck)" "$build_root/default" --suite core --suite io \
        --wrapper "valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect" \
        --timeout-multiplier 20

    export TSAN_OPTIONS=halt_on_error=1
    configure "$build_root/tsan" -Dwerror=true -Db_sanitize=thread -Db_lundef=false
    run_suite "ThreadSanitizer" "$build_root/tsan" --suite threads

    run_suite "soak benchmark" "$build_root/default" --benchmark --suite soak

    configure "$build_root/no-io" -Dwerror=true -Dio=disabled
    run_suite "core without I/O (-Dio=disabled)" "$build_root/no-io" --suite core

    # Python, PyTorch and OpenCV DNN through the C ABI (installs Debian's
    # python3-pytest, python3-numpy, python3-torch, python3-onnx,
    # libopencv-dnn-dev). pytest runs them; its last line, "N passed, N
    # failed" (tests/python/conftest.py), counts each test once.
    echo "==== Python binding, PyTorch, OpenCV DNN"
    py_rc=0
    py_out=$(tests/python/run.sh "$build_root/default" 2>&1) || py_rc=$?
    printf '%s\n' "$py_out" | tail -n 25
    py_last=$(printf '%s\n' "$py_out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    py_pass=$(printf '%s' "$py_last" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    py_fail=$(printf '%s' "$py_last" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    passed=$((passed + ${py_pass:-0}))
    failed=$((failed + ${py_fail:-0}))
    if [ "$py_rc" != 0 ] && [ "${py_fail:-0}" = 0 ]; then failed=$((failed + 1)); fi

    if [ -x tests/fuzz/run.sh ]; then
        echo "==== fuzzing"
        if tests/fuzz/run.sh "$build_root/default"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
    fi
fi

echo "tests/run.sh: $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
