"""The Python binding (lib/python/decam, the decam package) against the C library:
bit-identical maps, errors, callbacks, memory. Needs NumPy; the environment
comes from tests/python/run.sh (DECAM_LIBRARY, DECAM_TEST_CREF, ...)."""
import contextlib
import io
import os
import subprocess
import sys
import time
import traceback
import types
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent.parent
sys.path[:0] = [str(SRC / "lib" / "python"), str(HERE)]

try:
    import numpy as np
except ImportError:
    np = None
NO_NUMPY = os.environ.get("DECAM_TEST_NO_NUMPY") or (np is None and "python3-numpy is missing")
NO_IO = NO_NUMPY
if not NO_NUMPY:
    import decam
    from planted import Planted

    if not hasattr(decam._binding._lib, "decam_image_load"):
        NO_IO = "libdecam was built without image I/O (-Dio=disabled)"


def work_dir():
    return Path(os.environ.get("DECAM_TEST_WORK", "/tmp"))


def c_planted(seed, nonlinear=False, layout="hwc", method="decam", budget=1000):
    """The image and map that C alone computes (tests/python/cref.c)."""
    out = work_dir() / f"planted-{seed}-{int(nonlinear)}-{layout}-{method}-{budget}.bin"
    subprocess.run([os.environ["DECAM_TEST_CREF"], "planted", str(seed), str(int(nonlinear)),
                    str(decam.ENUMS["layout"].index(layout)),
                    str(decam.ENUMS["method"].index(method)), str(budget), str(out)], check=True)
    raw = np.fromfile(out, np.float32)
    return raw[:-64 * 64], raw[-64 * 64:].reshape(64, 64)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@unittest.skipIf(NO_NUMPY, NO_NUMPY)
class BitIdenticalToC(unittest.TestCase):
    """The NumPy port of the planted model gives, through the binding, the
    very map that the C planted model gives through C alone."""

    def check(self, seed, nonlinear=False, layout="hwc", method="decam"):
        planted = Planted(seed, nonlinear, layout)
        c_image, c_map = c_planted(seed, nonlinear, layout, method)
        self.assertEqual(planted.image.tobytes(), c_image.tobytes(), "the images differ")
        with decam.Explainer(planted, layout=layout, method=method) as ex:
            saliency = ex.explain(planted.image, target=0)
        self.assertEqual(saliency.dtype, np.float32)
        self.assertEqual(saliency.shape, (64, 64))
        self.assertEqual(saliency.tobytes(), c_map.tobytes(),
                         f"max difference {np.abs(saliency - c_map).max()}")

    def test_planted_maps_equal_the_c_maps_bit_for_bit(self):
        for seed in range(5):
            with self.subTest(seed=seed):
                self.check(seed)

    def test_nonlinear_planted_map_equals_the_c_map(self):
        self.check(11, nonlinear=True)

    def test_planar_layout_map_equals_the_c_map(self):
        self.check(12, layout="chw")

    def test_rise_and_occlusion_maps_equal_the_c_maps(self):
        for method in ("rise", "occlusion"):
            with self.subTest(method=method):
                self.check(13, method=method)


@unittest.skipIf(NO_NUMPY, NO_NUMPY)
class Parameters(unittest.TestCase):
    def setUp(self):
        self.planted = Planted(1)
        self.ex = decam.Explainer(self.planted)

    def tearDown(self):
        self.ex.close()

    def test_table_comes_from_the_library_with_its_defaults(self):
        self.assertEqual(len(decam.PARAMS), decam._binding._lib.decam_param_count())
        self.assertEqual(decam.PARAMS["budget"].key, 2)
        self.assertEqual(decam.ENUMS["strategy"], ("rand1", "best1", "pbest", "shade", "lshade"))
        self.assertEqual(decam.PARAMS["budget"].default, 1000)
        for name, value in self.ex.params.items():
            default = decam.PARAMS[name].default
            expected = decam.ENUMS[name][int(default)] if name in decam.ENUMS else default
            self.assertEqual(value, expected, name)

    def test_every_enum_value_has_a_name(self):
        for name, names in decam.ENUMS.items():
            self.assertEqual((decam.PARAMS[name].lower, decam.PARAMS[name].upper),
                             (0, len(names) - 1), f"decam.ENUMS[{name!r}] is out of date")

    def test_grid_sets_both_sides_and_enums_take_names(self):
        ex = decam.Explainer(self.planted, grid=5, method="rise", objective="delete", seed=9)
        self.assertEqual((ex.get_param("grid_width"), ex.get_param("grid_height")), (5, 5))
        self.assertEqual((ex.get_param("method"), ex.get_param("objective")), ("rise", "delete"))
        self.assertEqual(ex.get_param("seed"), 9)

    def test_value_out_of_range_raises_with_status_and_the_parameter_named(self):
        with self.assertRaises(decam.DecamError) as cm:
            self.ex.set_param("budget", 0)
        e = cm.exception
        self.assertEqual(e.status, decam.Status.OUT_OF_RANGE)
        self.assertIn("budget", e.message)
        self.assertIn("[1, 1e+09]", str(e))
        self.assertEqual(self.ex.get_param("budget"), 1000, "the old value stays")

    def test_bad_keyword_to_the_constructor_raises(self):
        with self.assertRaises(decam.DecamError) as cm:
            decam.Explainer(self.planted, population=2)
        self.assertEqual(cm.exception.status, decam.Status.OUT_OF_RANGE)
        self.assertIn("population", str(cm.exception))

    def test_fraction_for_a_whole_number_raises(self):
        with self.assertRaises(decam.DecamError) as cm:
            self.ex.set_param("grid_width", 2.5)
        self.assertEqual(cm.exception.status, decam.Status.OUT_OF_RANGE)
        self.assertIn("grid_width", str(cm.exception))

    def test_unknown_name_raises_unknown_param_with_a_suggestion(self):
        with self.assertRaises(decam.DecamError) as cm:
            self.ex.set_param("bugdet", 10)
        self.assertEqual(cm.exception.status, decam.Status.UNKNOWN_PARAM)
        self.assertIn("bugdet", str(cm.exception))
        self.assertIn("budget", str(cm.exception))

    def test_unknown_enum_name_lists_the_accepted_ones(self):
        with self.assertRaises(decam.DecamError) as cm:
            self.ex.set_param("method", "gradcam")
        self.assertEqual(cm.exception.status, decam.Status.OUT_OF_RANGE)
        self.assertIn("decam, rise, occlusion", str(cm.exception))


def failing_layer(batch):
    raise RuntimeError("boom in the model")


@unittest.skipIf(NO_NUMPY, NO_NUMPY)
class ModelAndCallbacks(unittest.TestCase):
    def setUp(self):
        self.planted = Planted(2)
        self.image = self.planted.image

    def test_exception_in_the_model_is_reraised_with_its_traceback(self):
        calls = []

        def model(batch):
            calls.append(len(batch))
            if len(calls) == 3:
                failing_layer(batch)
            return self.planted(batch)

        ex = decam.Explainer(model)
        try:
            ex.explain(self.image, target=0)
            self.fail("no exception")
        except RuntimeError as e:  # (assertRaises drops the traceback)
            self.assertEqual(str(e), "boom in the model")
            frames = [f.name for f in traceback.extract_tb(e.__traceback__)]
        self.assertIn("model", frames)
        self.assertIn("failing_layer", frames)
        self.assertEqual(len(calls), 3, "the run stopped at the failing call")
        self.assertEqual(ex.stats.termination, "error")
        # The context stays usable: the next run is the one a fresh context makes.
        again = ex.explain(self.image, target=0)
        fresh = decam.Explainer(self.planted).explain(self.image, target=0)
        self.assertEqual(again.tobytes(), fresh.tobytes())

    def test_keyboard_interrupt_in_the_model_propagates(self):
        def model(batch):
            raise KeyboardInterrupt

        with self.assertRaises(KeyboardInterrupt):
            decam.Explainer(model, n_outputs=1).explain(self.image, target=0)

    def test_wrong_score_shape_raises_value_error(self):
        ex = decam.Explainer(lambda b: np.zeros((len(b), 3)), n_outputs=1)
        with self.assertRaises(ValueError) as cm:
            ex.explain(self.image, target=0)
        # the first call scores the unmodified image alone
        self.assertIn("shape (1, 3) for a batch of 1 images; expected (1, 1) or (1,)",
                      str(cm.exception))

    def test_nan_score_raises_bad_score(self):
        ex = decam.Explainer(lambda b: np.full(len(b), np.nan))
        with self.assertRaises(decam.DecamError) as cm:
            ex.explain(self.image, target=0)
        self.assertEqual(cm.exception.status, decam.Status.BAD_SCORE)

    def test_finite_scores_beyond_float32_are_refused_as_such(self):
        # float64 scores are cast to float32 for C: 1e39 must not be
        # reported as an infinite score.
        ex = decam.Explainer(lambda b: np.full(len(b), 1e39, np.float64))
        with self.assertRaises(ValueError) as cm:
            ex.explain(self.image, target=0)
        text = str(cm.exception)
        self.assertIn("1e+39", text)
        self.assertIn("finite, but beyond float32's range", text)
        self.assertIn("probabilities", text)
        self.assertNotIn("infinite", text)

    def test_library_errors_raise_with_status_and_message(self):
        with self.assertRaises(decam.DecamError) as cm:
            decam.Explainer(self.planted, budget=10).explain(self.image, target=0)
        self.assertEqual(cm.exception.status, decam.Status.BUDGET_TOO_SMALL)
        two = decam.Explainer(lambda b: np.stack([self.planted(b)] * 2, axis=1))
        with self.assertRaises(decam.DecamError) as cm:
            two.explain(self.image, target=5)
        self.assertEqual(cm.exception.status, decam.Status.OUT_OF_RANGE)
        self.assertIn("target", str(cm.exception))

    def test_error_messages_name_the_function_once(self):
        # The library's message starts with its function; the binding's
        # prefix must not say it a second time.
        two = decam.Explainer(lambda b: np.stack([self.planted(b)] * 2, axis=1))
        with self.assertRaises(decam.DecamError) as cm:
            two.explain(self.image, target=5)
        text = str(cm.exception)
        self.assertEqual(text.count("decam_begin"), 1, text)
        self.assertTrue(text.startswith("decam_begin: parameter value out of range: "), text)
        self.assertIn("targets[0] = 5", text)
        self.assertTrue(cm.exception.message.startswith("decam_begin: "))  # as the library says
        with self.assertRaises(decam.DecamError) as cm:
            decam.Explainer(self.planted, budget=-5)
        text = str(cm.exception)
        self.assertEqual(text.count("decam_set_param"), 1, text)

    def test_baseline_image_is_needed_by_the_image_baseline(self):
        ex = decam.Explainer(self.planted, baseline="image", n_outputs=1)
        with self.assertRaises(decam.DecamError) as cm:
            ex.explain(self.image, target=0)
        self.assertEqual(cm.exception.status, decam.Status.MISSING_INPUT)
        ex.set_baseline_image(np.zeros_like(self.image))
        self.assertEqual(ex.explain(self.image, target=0).shape, (64, 64))
        ex.set_prior_map(ex.explain(self.image, target=0))
        ex.set_param("init", "prior")
        self.assertEqual(ex.explain(self.image, target=0).shape, (64, 64))

    def test_model_sees_read_only_batches_in_the_layout_and_batch_size(self):
        seen = []

        def model(batch):
            seen.append((batch.shape, batch.flags.writeable, batch.dtype))
            return batch[:, 0, 10:20, 10:20].mean(axis=(1, 2))

        chw = np.ascontiguousarray(self.image.transpose(2, 0, 1))
        decam.Explainer(model, layout="chw", batch_size=16, n_outputs=1).explain(chw, target=0)
        self.assertTrue(all(s[1:] == (3, 64, 64) and s[0] <= 16 for s, _, _ in seen), seen[:3])
        self.assertFalse(any(w for _, w, _ in seen))
        self.assertTrue(all(d == np.float32 for _, _, d in seen))

    def test_top_output_is_explained_when_no_target_is_given(self):
        def model(batch):
            s = self.planted(batch)
            return np.stack([s * 0.1, s, s * 0.5], axis=1)

        ex = decam.Explainer(model)
        ex.explain(self.image)
        self.assertEqual((ex.get_param("target"), ex.get_param("n_outputs")), (1, 3))

    def test_progress_callable_sees_the_queries_and_can_cancel(self):
        seen = []

        def progress(p):
            seen.append(p)
            return p.generation >= 3

        ex = decam.Explainer(self.planted, progress=progress)
        with self.assertRaises(decam.Cancelled) as cm:
            ex.explain(self.image, target=0)
        self.assertEqual([p.generation for p in seen], [1, 2, 3])
        self.assertEqual([p.queries for p in seen], sorted(p.queries for p in seen))
        self.assertEqual(seen[0].budget, 1000)
        self.assertEqual(ex.stats.termination, "cancelled")
        self.assertEqual(cm.exception.status, decam.Status.CANCELLED)
        self.assertEqual(cm.exception.saliency.shape, (64, 64))
        self.assertTrue(np.isfinite(cm.exception.saliency).all())

    def test_stop_from_inside_the_model_cancels(self):
        ex = None

        def model(batch):
            ex.stop()
            return self.planted(batch)

        ex = decam.Explainer(model, n_outputs=1)
        with self.assertRaises(decam.Cancelled):
            ex.explain(self.image, target=0)
        self.assertEqual(ex.stats.termination, "forced")

    def test_exception_in_the_progress_callback_is_reraised(self):
        def progress(p):
            raise ValueError("progress failed")

        with self.assertRaisesRegex(ValueError, "progress failed"):
            decam.Explainer(self.planted, progress=progress).explain(self.image, target=0)

    def test_progress_true_drives_tqdm_when_it_is_installed(self):
        bars = []

        class FakeTqdm:
            def __init__(self, total, **kw):
                self.total, self.n, self.closed = total, 0, False
                bars.append(self)

            def update(self, k):
                self.n += k

            def close(self):
                self.closed = True

        saved = sys.modules.get("tqdm")
        sys.modules["tqdm"] = types.SimpleNamespace(tqdm=FakeTqdm)
        try:
            ex = decam.Explainer(self.planted, progress=True)
            ex.explain(self.image, target=0)
        finally:
            sys.modules.pop("tqdm")
            if saved is not None:
                sys.modules["tqdm"] = saved
        self.assertEqual(len(bars), 1)
        self.assertEqual(bars[0].total, 1000)
        self.assertTrue(bars[0].closed)
        self.assertGreater(bars[0].n, 900)

    def test_progress_true_without_tqdm_writes_text(self):
        saved = sys.modules.get("tqdm")
        sys.modules["tqdm"] = None  # import tqdm now raises ImportError
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                decam.Explainer(self.planted, progress=True).explain(self.image, target=0)
        finally:
            sys.modules.pop("tqdm")
            if saved is not None:
                sys.modules["tqdm"] = saved
        self.assertIn("/1000 queries", err.getvalue())
        self.assertTrue(err.getvalue().endswith("\n"))

    def test_log_handler_receives_the_error_message(self):
        lines = []
        ex = decam.Explainer(self.planted, budget=10, log=lambda lv, msg: lines.append((lv, msg)))
        with self.assertRaises(decam.DecamError):
            ex.explain(self.image, target=0)
        self.assertTrue(any(lv == "error" and "budget" in msg for lv, msg in lines), lines)


@unittest.skipIf(NO_NUMPY, NO_NUMPY)
class ResultsAndMetrics(unittest.TestCase):
    def setUp(self):
        self.planted = Planted(3)
        self.ex = decam.Explainer(self.planted, n_outputs=1)
        self.saliency = self.ex.explain(self.planted.image, target=0)

    def test_stats_count_the_whole_budget(self):
        s = self.ex.stats
        self.assertEqual((s.queries, s.termination), (1000, "budget"))
        self.assertGreaterEqual(s.model_calls, 20)
        self.assertEqual(np.float32(s.score_full), self.planted(self.planted.image[None])[0])

    def test_raw_map_is_per_pixel_or_the_gene_grid(self):
        self.assertEqual(self.ex.raw_map().shape, (64, 64))  # the default assembly
        ex = decam.Explainer(self.planted, grid=4, n_outputs=1, assembly="best")
        ex.explain(self.planted.image, target=0)
        self.assertEqual(ex.raw_map().shape, (4, 4))

    def test_rank_correlation_of_maps(self):
        other = decam.Explainer(self.planted, n_outputs=1, seed=1).explain(self.planted.image,
                                                                           target=0)
        rho = decam.rank_correlation(self.saliency, other)
        self.assertEqual(decam.rank_correlation(self.saliency, self.saliency), 1.0)
        self.assertEqual(decam.rank_correlation(self.saliency, -self.saliency), -1.0)
        self.assertTrue(0.0 < rho < 1.0)
        self.assertEqual(decam.rank_correlation(np.zeros((4, 4)), np.eye(4)), 0.0)
        with self.assertRaisesRegex(ValueError, "NaN"):
            decam.rank_correlation(np.array([1.0, np.nan]), np.array([1.0, 2.0]))

    def test_evaluate_gives_the_metrics_and_the_pointing_games(self):
        m = self.ex.evaluate(self.planted.image, self.saliency, self.planted.truth, target=0)
        self.assertEqual((m.steps, m.queries), (64, 130))
        hit, energy = decam.pointing(self.saliency, self.planted.truth)
        self.assertEqual((m.pointing_game, m.energy_pointing_game), (hit, energy))
        self.assertEqual(hit, 1.0)
        self.assertLess(m.deletion_auc, m.insertion_auc)
        self.assertTrue(np.isnan(self.ex.evaluate(self.planted.image, self.saliency).pointing_game))

    @unittest.skipIf(NO_IO, NO_IO)
    def test_io_helpers_render_save_and_load(self):
        panel = decam.render_panel(self.planted.image, self.saliency)
        self.assertEqual((panel.shape, panel.dtype), ((64, 192, 3), np.uint8))
        path = work_dir() / "binding-panel.png"
        decam.save_image(path, panel)
        self.assertEqual(decam.load_image(path).tobytes(),
                         (panel / np.float32(255)).astype(np.float32).tobytes())
        with self.assertRaises(decam.DecamError) as cm:
            decam.load_image(work_dir() / "missing.png")
        self.assertEqual(cm.exception.status, decam.Status.IO)


@unittest.skipIf(NO_NUMPY, NO_NUMPY)
class Lifetime(unittest.TestCase):
    def test_1000_explains_keep_memory_flat(self):
        # 64 x 64 x 3: leaking a map or an image per explain would show (16 MB)
        image = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)

        def model(batch):
            return batch[:, 10:30, 10:30, 0].mean(axis=(1, 2))

        def explain():
            with decam.Explainer(model, grid=4, population=8, budget=40, n_outputs=1) as ex:
                return ex.explain(image, target=0)

        for _ in range(100):  # warm up allocators and caches
            explain()
        before, start = rss_bytes(), time.monotonic()
        for _ in range(1000):
            explain()
        growth = rss_bytes() - before
        print(f"\n    1000 explains: RSS growth {growth / 1024:.0f} KiB in "
              f"{time.monotonic() - start:.1f} s", end=" ")
        self.assertLess(growth, 5 << 20)

    def test_missing_library_is_reported_clearly(self):
        env = dict(os.environ, DECAM_LIBRARY="/nonexistent/libdecam.so")
        r = subprocess.run([sys.executable, "-c", "import decam"], env=env, capture_output=True,
                           text=True, cwd=SRC / "lib" / "python")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot find libdecam", r.stderr)
        self.assertIn("/nonexistent/libdecam.so (missing)", r.stderr)
        self.assertIn("DECAM_LIBRARY", r.stderr)


if __name__ == "__main__":
    unittest.main()
