#!/usr/bin/env bash
# tests/python/run.sh BUILD_DIR [PYTEST_ARGS...] - tests of the Python binding (NumPy), the
# PyTorch example, decam-explain's OpenCV DNN backend and a pretrained
# ImageNet model (../shared/realdata) against the libdecam built in
# BUILD_DIR. Installs what the tests need from Debian when it is missing
# (python3-numpy, python3-torch, python3-onnx, libopencv-dnn-dev,
# python3-mesonpy and python3-venv for the package test, python3-dask,
# python3-distributed and python3-opencv for the dataset tests,
# python3-pil for the real-model test, python3-opencv for the real-detector
# test); tests
# whose packages cannot be installed report themselves SKIPPED. Helpers are
# built into BUILD_DIR/python-tests; what the tests write goes to a temporary
# directory removed afterwards (conftest.py). The tests run with pytest
# (python3-pytest); PYTEST_ARGS (say -k async, or a test file) go to it. The
# last line is "N passed, N failed" (", N skipped" when some were); the exit
# status is nonzero on any failure.
set -uo pipefail
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD_DIR [PYTEST_ARGS...]" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
shift
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$build/python-tests
py=/usr/bin/python3 # Debian's python, which sees Debian's packages
mkdir -p "$work"

# ---- packages: installed one group at a time, apt-get update at most once --
updated=0
as_root=""
[ "$(id -u)" = 0 ] || as_root="sudo"
install() {
    local missing=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} = 0 ] && return 0
    echo "python/run.sh: installing ${missing[*]}"
    if [ $updated = 0 ]; then
        $as_root apt-get update -qq || return 1
        updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}
install python3-pytest || { echo "python/run.sh: python3-pytest could not be installed"; echo "0 passed, 1 failed"; exit 1; }
install python3-numpy || export DECAM_TEST_NO_NUMPY="python3-numpy could not be installed"
install python3-torch || export DECAM_TEST_NO_TORCH="python3-torch could not be installed"
install python3-mesonpy python3-venv python3-pip ||
    echo "python/run.sh: python3-mesonpy or python3-venv could not be installed"
install python3-dask python3-distributed python3-opencv ||
    echo "python/run.sh: python3-dask, python3-distributed or python3-opencv could not be installed"
install python3-onnx libopencv-dnn-dev ||
    export DECAM_TEST_NO_OPENCV="python3-onnx or libopencv-dnn-dev could not be installed"
# the pretrained-model test (test_realmodel.py), only where CI sees the set
if [ -d "$src/../shared/realdata" ]; then
    install python3-opencv python3-pil ||
        export DECAM_TEST_NO_REALMODEL="python3-opencv could not be installed"
fi

# the pretrained-detector test (test_realdet.py), only where CI sees its set
if [ -d "$src/../shared/realdet" ]; then
    install python3-opencv ||
        export DECAM_TEST_NO_REALDET="python3-opencv could not be installed"
fi

# ---- the library, and decam-explain with OpenCV DNN if this build has it ---
ninja -C "$build" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
explain_exe=$build/examples/decam-explain
has_dnn() { [ -x "$explain_exe" ] && "$explain_exe" --version | grep -q "OpenCV DNN: yes"; }
if ! has_dnn && [ -z "${DECAM_TEST_NO_OPENCV:-}" ] &&
    meson introspect --buildoptions "$build" | grep -q '"name": "opencv"'; then
    # OpenCV was installed after this build was configured: look again.
    meson setup --reconfigure "$build" >/dev/null && ninja -C "$build" >/dev/null
fi
if has_dnn; then
    export DECAM_TEST_OPENCV=$explain_exe
elif [ -z "${DECAM_TEST_NO_OPENCV:-}" ]; then
    export DECAM_TEST_NO_OPENCV="decam-explain is not built with OpenCV DNN in $build (meson option opencv)"
fi

# ---- helpers: C reference maps, and the shapes code as a shared library ----
cflags=(-std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -ffp-contract=off)
if ! cc "${cflags[@]}" -I"$src/tests" -I"$src/examples/shapes" -I"$src/include" \
        -I"$build/include" "$src/tests/python/cref.c" "$src/examples/shapes/cnn.c" \
        "$src/examples/shapes/scene.c" -L"$build/lib" -ldecam -lm -Wl,-rpath,"$build/lib" \
        -o "$work/cref" ||
    ! cc "${cflags[@]}" -shared -fPIC "$src/examples/shapes/cnn.c" \
        "$src/examples/shapes/scene.c" -lm -o "$work/libshapes.so"; then
    echo "python/run.sh: the test helpers do not build"
    echo "0 passed, 1 failed"
    exit 1
fi

export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
export DECAM_LIBRARY=$build/lib/libdecam.so
export DECAM_TEST_WORK=$work DECAM_TEST_CREF=$work/cref DECAM_TEST_SHAPES_LIB=$work/libshapes.so
# -p no:cacheprovider: no .pytest_cache in the tree; no:unraisableexception:
# the binding keeps its own sys.unraisablehook across tests; -s: the tests' own lines
# (measured figures) show as they run; the counts line comes from conftest.py.
cd "$src/tests/python" || exit 1
exec "$py" -m pytest -p no:cacheprovider -p no:hypothesispytest -p no:unraisableexception -s -v --rootdir "$src/tests/python" "${@:-.}"
