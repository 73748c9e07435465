"""The real-model set (../shared/realdata, its README) for the tests that use
it: where it is, why such a test is skipped (MISSING, one line, or None),
and its model and preparation, which are tests/bench_real.py's (with an
OpenCV fallback when PIL is missing)."""
import os
import sys

from test_binding import NO_NUMPY, SRC

sys.path.insert(0, str(SRC / "tests"))
import bench_real  # noqa: E402 (the benchmark's data preparation and model)

DATA = bench_real.DATA
ONNX = DATA / "mobilenet_v1_025_224.onnx"
MISSING = NO_NUMPY or os.environ.get("DECAM_TEST_NO_REALMODEL") or bench_real.missing()
if not MISSING:
    import json

    import numpy as np

    ENTRIES = json.load(open(DATA / "images.json"))
    Model = bench_real.Model  # (n, 3, 224, 224) in [0, 1] -> (n, 1000) probabilities


def p_tolerance():
    """How close the full image's true-class score must come to images.json:
    PIL reproduces the README's preparation exactly; without it the test
    resizes with OpenCV's area filter, which moves p by up to ~0.1."""
    try:
        import PIL  # noqa: F401
        return 1e-4
    except ImportError:
        return 0.15


def prepare(path):
    """An image as (3, 224, 224) float32 in [0, 1]: bench_real.prepare()
    (PIL); without PIL, OpenCV's area resize, close to PIL's filter."""
    try:
        return bench_real.prepare(path)
    except ImportError:
        cv2 = bench_real.cv2
        rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        s = 256 / min(h, w)
        nw, nh = max(256, round(w * s)), max(256, round(h * s))
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        y, x = (nh - 224) // 2, (nw - 224) // 2
        crop = rgb[y:y + 224, x:x + 224].astype(np.float32) / 255
        return np.ascontiguousarray(crop.transpose(2, 0, 1))
