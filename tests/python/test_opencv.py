"""The ONNX export (examples/python/export_onnx.py) and decam-explain's
OpenCV DNN backend (examples/cli/dnn_model.cpp): the exported classifier,
run by OpenCV, scores as the C classifier does, and decam-explain --model
finds the object on generated scenes. Needs python3-onnx, libopencv-dnn-dev
and a decam-explain built with OpenCV ($DECAM_TEST_OPENCV, set by run.sh)."""
import json
import os
import subprocess
import sys
import unittest

from test_binding import NO_IO, SRC, work_dir
from test_torch import (MAX_PARTED, MIN_HITS, NO_WEIGHTS, SCENES, SCORE_TOLERANCE, WEIGHTS,
                        c_reference, parse_report, random_weights, write_scene_pngs)

NO_ONNX = NO_IO or os.environ.get("DECAM_TEST_NO_OPENCV")
if not NO_ONNX:
    try:
        import onnx
    except ImportError:
        NO_ONNX = "python3-onnx is missing"
NO_OPENCV = NO_ONNX or (not os.environ.get("DECAM_TEST_OPENCV") and
                        "DECAM_TEST_OPENCV (decam-explain with OpenCV DNN) is not set")
if not NO_ONNX:
    import numpy as np

    import cshapes
    import decam

EXPORT = SRC / "examples" / "python" / "export_onnx.py"


def export(weights, name):
    out = work_dir() / name
    subprocess.run([sys.executable, str(EXPORT), str(weights), "-o", str(out)], check=True,
                   capture_output=True)
    return out


def host(*args, check=True):
    r = subprocess.run([os.environ["DECAM_TEST_OPENCV"], "-q", *map(str, args)],
                       capture_output=True, text=True, timeout=600)
    if check and r.returncode != 0:
        raise AssertionError(f"decam-explain failed ({r.returncode}): {r.stderr}")
    return r


def explain(model, image, size, *options):
    """decam-explain's JSON report on one image; the scene files are drawn
    at the model's size, so --resize stretch hands the pixels over as they
    are."""
    out = host("--model", model, image, "--size", size, "--resize", "stretch", "--json", "-",
               *options).stdout
    return json.loads(out)


def opencv_scores(model, image, size, *options):
    out = host("--model", model, image, "--size", size, "--resize", "stretch", "--scores",
               *options).stdout
    return np.array([line.split("\t")[1] for line in out.splitlines()], np.float32)


@unittest.skipIf(NO_ONNX, NO_ONNX)
class OnnxExport(unittest.TestCase):
    def test_export_is_a_valid_onnx_model(self):
        model = onnx.load(str(export(random_weights(0), "random.onnx")))
        onnx.checker.check_model(model)
        dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        self.assertEqual(dims, ["N", 3, 40, 40])
        self.assertEqual(model.graph.output[0].name, "logits")

    def check_scores(self, weights, name, count):
        """OpenCV runs the export on PNG scenes; C runs cnn.c on the same pixels."""
        model, c_net = export(weights, name), cshapes.Net(weights)
        worst = 0.0
        for path, _, _ in write_scene_pngs(count, size=c_net.size):
            image = decam.load_image(path)
            logits = opencv_scores(model, path, c_net.size)
            probs = opencv_scores(model, path, c_net.size, "--softmax")
            worst = max(worst, np.abs(logits - c_net.logits(image)[0]).max(),
                        np.abs(probs - c_net.proba(image)[0]).max())
        print(f"\n    max |OpenCV(ONNX) - C| over {count} scenes: {worst:.2e}", end=" ")
        self.assertLess(worst, SCORE_TOLERANCE)

    @unittest.skipIf(NO_OPENCV, NO_OPENCV)
    def test_random_network_export_scores_as_the_c_classifier(self):
        self.check_scores(random_weights(0), "random.onnx", 8)

    @unittest.skipIf(NO_OPENCV or NO_WEIGHTS, NO_OPENCV or NO_WEIGHTS)
    def test_shapes_classifier_export_scores_as_the_c_classifier(self):
        self.check_scores(WEIGHTS, "shapes.onnx", 16)


@unittest.skipIf(NO_OPENCV, NO_OPENCV)
class Host(unittest.TestCase):
    def test_preprocessing_options(self):
        model = export(random_weights(0), "random.onnx")
        path = write_scene_pngs(1, size=40)[0][0]
        plain = opencv_scores(model, path, 40)
        # (v * 255 - 0) / 255 is v again, up to rounding
        np.testing.assert_allclose(opencv_scores(model, path, 40, "--scale", 255, "--std", 255),
                                   plain, atol=1e-5)
        # --bgr on a BGR file feeds the network what the RGB file does
        swapped = work_dir() / "scene-bgr.png"
        decam.save_image(swapped, np.round(decam.load_image(path)[..., ::-1] * 255)
                         .astype(np.uint8))
        np.testing.assert_array_equal(opencv_scores(model, swapped, 40, "--bgr"), plain)
        # the mean is subtracted: a shift of the input changes the scores
        self.assertGreater(np.abs(opencv_scores(model, path, 40, "--mean", 0.2) - plain).max(),
                           1e-3)

    def test_usage_and_failures_exit_with_a_message(self):
        r = host(check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no image given", r.stderr)
        self.assertEqual(host("--model", "m.onnx", "i.png", "--budget", "x",
                              check=False).returncode, 2)
        r = host("--model", work_dir() / "missing.onnx", "i.png", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot read", r.stderr)
        r = host("--model", export(random_weights(0), "random.onnx"), work_dir() / "missing.png",
                 "--size", 40, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot open", r.stderr)

    def test_batch_size_changes_calls_not_the_result(self):
        model = export(random_weights(0), "random.onnx")
        path = write_scene_pngs(1, size=40)[0][0]
        out = work_dir() / "opencv-batch.png"
        one = explain(model, path, 40, "--softmax", "--batch", 1, "-o", out)
        all_ = explain(model, path, 40, "--softmax", "-o", out)
        self.assertEqual(one["model_calls"], 1000)
        self.assertLess(all_["model_calls"], 100)
        self.assertEqual(one["target_index"], all_["target_index"])
        self.assertAlmostEqual(one["score_full"], all_["score_full"], places=5)

    @unittest.skipIf(NO_WEIGHTS, NO_WEIGHTS)
    def test_end_to_end_agrees_with_the_c_classifier_and_finds_the_object(self):
        model, hits, parted = export(WEIGHTS, "shapes.onnx"), 0, 0
        for i, (path, mask, label) in enumerate(write_scene_pngs(SCENES, first=200)):
            out = work_dir() / f"opencv-panel-{i}.png"
            r = explain(model, path, 64, "--softmax", "-o", out)
            target, score, (x, y) = r["target_index"], r["score_full"], r["peak"]
            c_target, c_score, c_peak = c_reference(path)
            self.assertEqual(target, c_target, path.name)
            self.assertAlmostEqual(score, c_score, delta=SCORE_TOLERANCE)
            parted += (x, y) != c_peak  # see MAP_TOLERANCE in test_torch.py
            hits += bool(mask[y, x])
            if i == 0:
                self.assertEqual(decam.load_image(out).shape, (256, 768, 3))
        print(f"\n    peak on the object in {hits} of {SCENES} scenes; peak elsewhere than "
              f"C's in {parted}", end=" ")
        self.assertLessEqual(parted, int(MAX_PARTED * SCENES))
        self.assertGreaterEqual(hits, MIN_HITS)


if __name__ == "__main__":
    unittest.main()
