"""End to end on a real pretrained model: MobileNet v1 0.25 (ImageNet, ONNX,
run by OpenCV's DNN module) from the real-model set at ../shared/realdata
(its README), explained through the binding. What must hold on any real
model: DE-CAM's maps, at a small budget, beat a random map's insertion
minus deletion on average by a clear margin. Skipped when the set or
OpenCV's Python module is absent. Writes nothing."""
import os
import sys
import unittest
from pathlib import Path

from test_binding import NO_NUMPY, SRC

sys.path.insert(0, str(SRC / "tests"))
import bench_real  # noqa: E402 (the benchmark's data preparation and model)

NO_REAL = (NO_NUMPY or os.environ.get("DECAM_TEST_NO_REALMODEL") or
           (not (bench_real.DATA / "images.json").is_file() and
            f"{bench_real.DATA} (the real-model set) is absent") or
           (bench_real.cv2 is None and "OpenCV's Python module (python3-opencv) is missing"))
if not NO_REAL:
    import json

    import numpy as np

    import decam

# The first images of the choosing half (images.json order): the reporting
# half stays unseen by anything that could be tuned to it.
IMAGES = range(0, 8)
BUDGET = 250
# decam_evaluate() in 56 steps of 896 pixels (the benchmark uses RISE's 224
# of 224): the AUCs are coarser, the ranking of the maps is the same, and
# the test stays well under its time limit on a loaded machine.
EVAL_STEP = 896
# Insertion minus deletion, DE-CAM's mean over IMAGES less the random map's.
# A map that knows nothing about the model scores the random map's value; on
# the README's reporting-half figures the gap from a random smooth map to
# occlusion 32/8 (626 queries) is 0.25 and to RISE at 4000 masks 0.29.
# 0.10 demands that DE-CAM at 250 queries closes at least 40% of that gap:
# a broken encoding, assembly or score sign falls far below it, while the
# margin measured on these images is 0.26 (DE-CAM 0.355, random 0.094;
# DE-CAM higher on 7 of the 8). 3824 queries: about 15 s at the README's
# 3.5 ms per image.
MARGIN = 0.10


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
    try:
        return bench_real.prepare(path)
    except ImportError:  # no PIL: OpenCV's area resize, close to PIL's filter
        cv2 = bench_real.cv2
        rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        s = 256 / min(h, w)
        nw, nh = max(256, round(w * s)), max(256, round(h * s))
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
        y, x = (nh - 224) // 2, (nw - 224) // 2
        crop = rgb[y:y + 224, x:x + 224].astype(np.float32) / 255
        return np.ascontiguousarray(crop.transpose(2, 0, 1))


@unittest.skipIf(NO_REAL, NO_REAL)
class RealModel(unittest.TestCase):
    def test_decam_beats_a_random_map_on_a_pretrained_imagenet_classifier(self):
        entries = json.load(open(bench_real.DATA / "images.json"))
        model = bench_real.Model(bench_real.DATA / "mobilenet_v1_025_224.onnx")
        gaps, worst_p = {"DE-CAM": [], "random": []}, 0.0
        for i in IMAGES:
            e = entries[i]
            image, label = prepare(bench_real.DATA / e["file"]), e["class_index"]
            with decam.Explainer(model, layout="chw", n_outputs=1000, budget=BUDGET, seed=i,
                                 eval_step=EVAL_STEP, batch_size=64) as ex:
                maps = {"DE-CAM": ex.explain(image, target=label),
                        "random": bench_real.random_map(i)}
                self.assertEqual(ex.stats.queries, BUDGET)
                for name, saliency in maps.items():
                    m = ex.evaluate(image, saliency, target=label)
                    gaps[name].append(m.insertion_auc - m.deletion_auc)
                    worst_p = max(worst_p, abs(m.score_full - e["p_true"]))
        decam_gap, random_gap = np.mean(gaps["DE-CAM"]), np.mean(gaps["random"])
        wins = sum(a > b for a, b in zip(gaps["DE-CAM"], gaps["random"]))
        print(f"\n    insertion - deletion over {len(IMAGES)} images: DE-CAM@{BUDGET} "
              f"{decam_gap:.3f}, random {random_gap:.3f} (DE-CAM higher on {wins}); "
              f"{model.images} queries in {model.seconds:.1f} s; "
              f"max |p - p_true| {worst_p:.1e}", end=" ")
        self.assertLess(worst_p, p_tolerance(), "the model is not read as the README says")
        self.assertGreater(decam_gap - random_gap, MARGIN)


if __name__ == "__main__":
    unittest.main()
