"""End to end on a real pretrained model: MobileNet v1 0.25 (ImageNet, ONNX,
run by OpenCV's DNN module) from the real-model set at ../shared/realdata
(its README), explained through the binding. What must hold on any real
model: DE-CAM's maps, at a small budget, beat a random map's insertion
minus deletion on average by a clear margin. Skipped when the set or
OpenCV's Python module is absent. Writes nothing."""
import unittest

from realdata import MISSING as NO_REAL
from realdata import bench_real, p_tolerance, prepare

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
# the reporting half's figures (docs/benchmarks.md, 100 images) the gap
# from a random smooth map to occlusion 32/8 (628 queries) is 0.24 and to
# RISE at 4000 masks 0.30. 0.10 demands that DE-CAM at 250 queries closes
# about 40% of the smaller gap:
# a broken encoding, assembly or score sign falls far below it, while the
# margin measured on these images is 0.26 (DE-CAM 0.355, random 0.094;
# DE-CAM higher on 7 of the 8). 3824 queries: about 15 s at the README's
# 3.5 ms per image.
MARGIN = 0.10


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
