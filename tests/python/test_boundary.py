"""The Python binding at its boundary: exceptions raised anywhere in a
callback (Ctrl-C while the library runs included), callbacks that misuse
the explainer (re-entry, setters, close()), and what every public function
does with wrong types, shapes, dtypes, NaN, non-contiguous arrays and a
closed explainer. Needs NumPy; the environment comes from run.sh."""
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
import unittest
from pathlib import Path

from test_binding import NO_IO, NO_NUMPY  # sys.path, NumPy and the library, as there

if not NO_NUMPY:
    import numpy as np

    import decam
    from planted import Planted

SMALL = dict(grid=4, population=8, budget=200)  # about 25 model calls


class RaiseAtCallbackEntry:
    """Raises `exc` as the first thing in the first call of the callback named
    `callback`, before its first line runs, where a signal that arrived
    while C code ran would raise it: a trace function raising on the "call"
    event of a frame entered from C (its caller is the wrapper of one of
    the C functions `functions`, installed here in decam._binding._lib)."""

    def __init__(self, functions, callback, exc):
        functions = (functions,) if isinstance(functions, str) else functions
        self.callback, self.exc, self.raised = callback, exc, 0
        self.originals = {f: getattr(decam._binding._lib, f) for f in functions}

        def wrap(original):
            def through_c(*args):
                return original(*args)
            return through_c

        self.wrappers = {f: wrap(o) for f, o in self.originals.items()}
        self.wrapper_code = next(iter(self.wrappers.values())).__code__  # one code object

    def trace(self, frame, event, arg):
        if (event == "call" and not self.raised and frame.f_code.co_name == self.callback
                and frame.f_back is not None and frame.f_back.f_code is self.wrapper_code):
            self.raised += 1
            raise self.exc
        return None

    def __enter__(self):
        for name, wrapper in self.wrappers.items():
            setattr(decam._binding._lib, name, wrapper)
        sys.settrace(self.trace)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)
        for name, original in self.originals.items():
            setattr(decam._binding._lib, name, original)


# The C calls of explain() that may call back (its model is called from
# Python, between decam_ask() and decam_tell()), and of evaluate().
EXPLAIN_CALLS = ("decam_begin", "decam_ask", "decam_tell", "decam_finish")


@unittest.skipIf(NO_NUMPY, NO_NUMPY)
class ExceptionsInCallbacks(unittest.TestCase):
    def setUp(self):
        self.planted = Planted(4)
        self.image = self.planted.image

    def explainer(self, **kw):
        return decam.Explainer(self.planted, n_outputs=1, **dict(SMALL, **kw))

    def test_exception_before_the_first_line_of_any_callback_is_reraised_as_is(self):
        # explain() calls its model from Python, between decam_ask() and
        # decam_tell(): its callbacks are progress and log. evaluate()
        # reports no progress, and logs only failures: its callback is the model.
        for callback, function in (("_on_progress", "explain"), ("_on_log", "explain"),
                                   ("_on_model", "decam_evaluate")):
            with self.subTest(callback=callback, function=function):
                ex = self.explainer(progress=lambda p: False, log=lambda lv, m: None,
                                    log_level="debug")
                saliency = ex.explain(self.image, target=0)
                exc = KeyboardInterrupt(f"at the entry of {callback}")
                calls = EXPLAIN_CALLS if function == "explain" else function
                with RaiseAtCallbackEntry(calls, callback, exc) as hook:
                    if function == "explain":
                        run = lambda: ex.explain(self.image, target=0)  # noqa: E731
                    else:
                        run = lambda: ex.evaluate(self.image, saliency)  # noqa: E731
                    try:
                        run()
                        outcome = None
                    except BaseException as e:  # noqa: B902
                        outcome = e
                self.assertEqual(hook.raised, 1)
                self.assertIs(outcome, exc, f"{type(outcome).__name__}: {outcome}")
                again = ex.explain(self.image, target=0)
                self.assertEqual(again.tobytes(), saliency.tobytes())

    def test_ctrl_c_while_the_library_runs_raises_keyboard_interrupt(self):
        # SIGINT is sent when a model call returns, so it arrives while C
        # code runs: the sender needs the GIL, which the main thread gives
        # up when it returns into C (and not before: the switch interval is
        # long). Python's handler then raises at the first instruction of
        # the next callback, the progress callback or the model.
        # Python's own handler, also when the tests run with SIGINT ignored
        # (as a background job of a shell does)
        handler = signal.signal(signal.SIGINT, signal.default_int_handler)
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1.0)
        try:
            for progress in (lambda p: False, None):
                for after_call in (2, 5):
                    with self.subTest(progress=progress is not None, after_call=after_call):
                        self.interrupt_after(after_call, progress)
        finally:
            sys.setswitchinterval(interval)
            signal.signal(signal.SIGINT, handler)

    def interrupt_after(self, after_call, progress):
        returned = threading.Event()
        calls, sent_after = [], []

        def model(batch):
            calls.append(len(batch))
            scores = self.planted(batch)
            if len(calls) == after_call:
                returned.set()
            return scores

        def send():
            if returned.wait(30):
                sent_after.append(len(calls))
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

        ex = decam.Explainer(model, n_outputs=1, budget=100000, progress=progress,
                             log=lambda lv, m: None)
        sender = threading.Thread(target=send)
        sender.start()
        try:
            with self.assertRaises(KeyboardInterrupt):
                try:
                    ex.explain(self.image, target=0)
                finally:
                    sender.join()
        finally:
            returned.set()
            sender.join()
        # the model is not called again once the signal has arrived
        self.assertLessEqual(len(calls), sent_after[0] + 1, "the run stopped at once")
        self.assertIs(signal.getsignal(signal.SIGINT), signal.default_int_handler)
        ex.set_param("budget", 200)
        self.assertEqual(ex.explain(self.image, target=0).shape, (64, 64), "usable")

    def test_other_unraisable_exceptions_go_on_to_the_hook_before(self):
        self.explainer().explain(self.image, target=0)  # the binding's hook is in place
        self.assertIs(sys.unraisablehook, decam.explainer._unraisable_hook)
        seen, saved = [], decam.explainer._unraisable_hook.previous
        decam.explainer._unraisable_hook.previous = seen.append

        class Bad:
            def __del__(self):
                raise RuntimeError("in __del__")

        try:
            Bad()
        finally:
            decam.explainer._unraisable_hook.previous = saved
        self.assertEqual([str(u.exc_value) for u in seen], ["in __del__"])

    def test_a_handler_left_behind_after_the_run_raises_as_usual(self):
        # as if a signal had cut short putting the handlers back
        handler = signal.signal(signal.SIGINT, signal.default_int_handler)
        restore = decam.Explainer.__dict__["_restore_signals"]  # the staticmethod
        decam.Explainer._restore_signals = staticmethod(lambda wrapped: None)
        try:
            self.explainer().explain(self.image, target=0)
            self.assertIsNot(signal.getsignal(signal.SIGINT), signal.default_int_handler)
            with self.assertRaises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
                for _ in range(1000):  # where Python runs the handler
                    pass
        finally:
            decam.Explainer._restore_signals = restore
            signal.signal(signal.SIGINT, handler)

    def test_user_signal_handler_runs_and_its_exception_is_reraised(self):
        class Stop(Exception):
            pass

        seen, raised = [], Stop("from the handler")

        def handler(signum, frame):
            seen.append(signum)
            raise raised

        def model(batch):
            if len(seen) == 0 and model.calls == 2:
                signal.raise_signal(signal.SIGUSR1)
            model.calls += 1
            return self.planted(batch)

        model.calls = 0
        previous = signal.signal(signal.SIGUSR1, handler)
        try:
            ex = decam.Explainer(model, n_outputs=1, **SMALL)
            with self.assertRaises(Stop) as cm:
                ex.explain(self.image, target=0)
            self.assertIs(cm.exception, raised)
            self.assertIs(signal.getsignal(signal.SIGUSR1), handler, "the handler is restored")
        finally:
            signal.signal(signal.SIGUSR1, previous)
        self.assertEqual(seen, [signal.SIGUSR1])

    def test_exception_of_the_model_is_the_same_object_with_its_traceback(self):
        raised = RuntimeError("the model failed")

        def model(batch):
            raise raised

        try:
            decam.Explainer(model, n_outputs=1).explain(self.image, target=0)
            self.fail("no exception")
        except RuntimeError as e:
            self.assertIs(e, raised)
            self.assertIn("model", [f.name for f in traceback.extract_tb(e.__traceback__)])

    def test_exception_in_the_log_handler_stops_the_run_and_is_reraised(self):
        raised = ValueError("the log handler failed")
        calls = []

        def log(level, message):
            raise raised

        def model(batch):
            calls.append(len(batch))
            return self.planted(batch)

        # a budget too small for the model: the error is logged before a query
        ex = decam.Explainer(model, n_outputs=1, budget=10, log=log)
        with self.assertRaises(ValueError) as cm:
            ex.explain(self.image, target=0)
        self.assertIs(cm.exception, raised)
        self.assertEqual(calls, [])

    def test_model_returning_complex_scores_raises_type_error(self):
        ex = decam.Explainer(lambda b: np.ones(len(b), np.complex64), n_outputs=1, **SMALL)
        with self.assertRaisesRegex(TypeError, "complex64 scores"):
            ex.explain(self.image, target=0)


@unittest.skipIf(NO_NUMPY, NO_NUMPY)
class CallbacksThatMisuseTheExplainer(unittest.TestCase):
    def setUp(self):
        self.planted = Planted(5)
        self.image = self.planted.image

    def test_explain_from_the_model_while_the_target_is_probed_raises_busy(self):
        calls = []
        ex = None

        def model(batch):
            calls.append(len(batch))
            if len(calls) == 1:  # the probe that finds the target
                ex.explain(self.image)
            return self.planted(batch)

        ex = decam.Explainer(model, **SMALL)
        with self.assertRaises(decam.DecamError) as cm:
            ex.explain(self.image)  # no target: the model is probed first
        self.assertEqual(cm.exception.status, decam.Status.BUSY)
        self.assertIn("explain", str(cm.exception))
        self.assertEqual(calls, [1], "no recursion")
        self.assertEqual(ex.explain(self.image).shape, (64, 64))

    def test_every_call_from_a_callback_that_would_change_the_run_raises_busy(self):
        saliency = np.zeros((64, 64), np.float32)
        attempts = {
            "explain": lambda ex: ex.explain(self.image, target=0),
            "evaluate": lambda ex: ex.evaluate(self.image, saliency, target=0),
            "set_param": lambda ex: ex.set_param("budget", 50),
            "set_baseline_image": lambda ex: ex.set_baseline_image(self.image),
            "set_prior_map": lambda ex: ex.set_prior_map(saliency),
        }
        for where in ("probe", "run"):
            for name, attempt in attempts.items():
                with self.subTest(where=where, call=name):
                    seen = []

                    def model(batch):
                        if not seen:
                            try:
                                attempt(ex)
                                seen.append("no error")
                            except decam.DecamError as e:
                                seen.append(e.status)
                        return self.planted(batch)

                    ex = decam.Explainer(model, **SMALL)
                    if where == "run":
                        ex.set_param("n_outputs", 1)
                    ex.explain(self.image, target=None if where == "probe" else 0)
                    self.assertEqual(seen, [decam.Status.BUSY])
                    self.assertEqual(ex.get_param("budget"), 200)

    def test_log_handler_that_calls_a_setter_gets_busy_once(self):
        messages = []
        ex = None

        def log(level, message):
            messages.append(message)
            ex.set_param("budget", 50)

        ex = decam.Explainer(self.planted, n_outputs=1, log=log, log_level="info", **SMALL)
        with self.assertRaises(decam.DecamError) as cm:
            ex.explain(self.image, target=0)
        self.assertEqual(cm.exception.status, decam.Status.BUSY)
        self.assertEqual(len(messages), 1, messages[:3])
        self.assertEqual(ex.get_param("budget"), 200)

    def check_closed(self, ex):
        self.assertIsNone(ex._ctx, "the context is freed")
        for name, use in (("explain", lambda: ex.explain(self.image, target=0)),
                          ("evaluate", lambda: ex.evaluate(self.image, self.image[..., 0])),
                          ("set_param", lambda: ex.set_param("budget", 10)),
                          ("get_param", lambda: ex.get_param("budget")),
                          ("params", lambda: ex.params),
                          ("stats", lambda: ex.stats),
                          ("raw_map", lambda: ex.raw_map()),
                          ("set_baseline_image", lambda: ex.set_baseline_image(None)),
                          ("set_prior_map", lambda: ex.set_prior_map(None)),
                          ("__enter__", lambda: ex.__enter__())):
            with self.subTest(after_close=name):
                with self.assertRaisesRegex(ValueError, "the Explainer is closed"):
                    use()
        ex.stop()  # nothing to stop: no effect
        ex.close()  # closing again: no effect

    def test_close_inside_the_model_is_deferred_and_ends_the_run(self):
        calls = []
        ex = None

        def model(batch):
            calls.append(len(batch))
            if len(calls) == 3:
                ex.close()
                with self.assertRaisesRegex(ValueError, "closed"):
                    ex.set_param("budget", 10)
            return self.planted(batch)

        ex = decam.Explainer(model, n_outputs=1, **SMALL)
        with self.assertRaises(decam.Cancelled) as cm:
            ex.explain(self.image, target=0)
        self.assertIn("closed", str(cm.exception))
        self.assertEqual(cm.exception.saliency.shape, (64, 64))
        self.assertEqual(len(calls), 3, "the run stopped after the closing call")
        self.check_closed(ex)

    def test_close_inside_the_probe_progress_log_or_evaluate_is_deferred(self):
        saliency = np.zeros((64, 64), np.float32)
        cases = {
            "probe": dict(kw={}, target=None),
            "progress": dict(kw=dict(progress=lambda p: ex.close()), target=0),
            "log": dict(kw=dict(log=lambda lv, m: ex.close(), log_level="info"), target=0),
            "evaluate": dict(kw={}, target=0, evaluate=True),
        }
        for where, case in cases.items():
            with self.subTest(where=where):
                calls = []

                def model(batch):
                    calls.append(len(batch))
                    if where in ("probe", "evaluate") and len(calls) == 1:
                        ex.close()
                    return self.planted(batch)

                ex = decam.Explainer(model, **SMALL, **case["kw"])
                if where != "probe":
                    ex.set_param("n_outputs", 1)
                with self.assertRaises(decam.Cancelled) as cm:
                    if case.get("evaluate"):
                        ex.evaluate(self.image, saliency, target=0)
                    else:
                        ex.explain(self.image, target=case["target"])
                self.assertIn("closed", str(cm.exception))
                self.check_closed(ex)

    def test_an_explainer_cannot_be_copied_or_pickled(self):
        import copy
        import pickle

        ex = decam.Explainer(self.planted, n_outputs=1, **SMALL)
        for name, attempt in (("copy", copy.copy), ("deepcopy", copy.deepcopy),
                              ("pickle", pickle.dumps)):
            with self.subTest(name):
                with self.assertRaisesRegex(TypeError, "cannot be copied or pickled"):
                    attempt(ex)
        self.assertEqual(ex.explain(self.image, target=0).shape, (64, 64))
        ex.close()

    def test_close_from_another_thread_during_a_run_is_deferred(self):
        started, ex = threading.Event(), None

        def model(batch):
            started.set()
            return self.planted(batch)

        ex = decam.Explainer(model, n_outputs=1, budget=100000)
        closer = threading.Thread(target=lambda: (started.wait(30), ex.close()))
        closer.start()
        try:
            with self.assertRaises(decam.Cancelled):
                ex.explain(self.image, target=0)
        finally:
            closer.join()
        self.check_closed(ex)


@unittest.skipIf(NO_NUMPY, NO_NUMPY)
class ArraysAtTheBoundary(unittest.TestCase):
    def setUp(self):
        self.planted = Planted(6)
        self.image = self.planted.image
        self.ex = decam.Explainer(self.planted, n_outputs=1, **SMALL)

    def tearDown(self):
        self.ex.close()

    def test_images_of_other_dtypes_and_layouts_in_memory_give_the_same_map(self):
        reference = self.ex.explain(self.image, target=0)
        flipped = np.ascontiguousarray(self.image[::-1])[::-1]  # negative strides
        padded = np.zeros((64, 64, 4), np.float32)
        padded[..., :3] = self.image
        for name, image in (("float64", self.image.astype(np.float64)),
                            ("negative strides", flipped),
                            ("a view with gaps", padded[..., :3]),
                            ("Fortran order", np.asfortranarray(self.image))):
            with self.subTest(image=name):
                self.assertEqual(self.ex.explain(image, target=0).tobytes(), reference.tobytes())

    def test_bad_images_raise_before_the_model_is_called(self):
        nan = self.image.copy()
        nan[3, 4, 1] = np.nan
        cases = {
            "NaN": (nan, ValueError, "NaN"),
            "infinite": (np.where(self.image > 0.5, np.inf, self.image), ValueError, "infinite"),
            "beyond float32": (self.image.astype(np.float64) * 1e300, ValueError, "float32"),
            "complex": (self.image.astype(np.complex64), TypeError, "complex64"),
            "strings": (np.full((4, 4, 3), "a"), TypeError, "real numbers"),
            "objects": (np.full((4, 4, 3), None), TypeError, "real numbers"),
            "1-D": (self.image.ravel(), ValueError, "2 or 3 dimensions"),
            "4-D": (self.image[None], ValueError, "2 or 3 dimensions"),
            "5-D": (self.image[None, None], ValueError, "2 or 3 dimensions"),
            "empty": (np.zeros((0, 64, 3), np.float32), ValueError, "empty"),
        }
        for name, (image, error, text) in cases.items():
            with self.subTest(image=name):
                if name != "4-D":  # a batch of images for explain() (test_many.py)
                    with self.assertRaisesRegex(error, text):
                        self.ex.explain(image, target=0)
                with self.assertRaisesRegex(error, text):
                    self.ex.set_baseline_image(image)

    def test_target_must_be_an_integer(self):
        for target, error in ((1.5, TypeError), ("0", TypeError), (np.int64(0), None)):
            with self.subTest(target=target):
                if error is None:
                    self.assertEqual(self.ex.explain(self.image, target=target).shape, (64, 64))
                else:
                    with self.assertRaisesRegex(error, "target must be an integer"):
                        self.ex.explain(self.image, target=target)

    def test_prior_map_of_the_wrong_shape_or_values_is_refused(self):
        prior = self.ex.explain(self.image, target=0)
        cases = {
            "3-D": (np.stack([prior] * 3, axis=2), ValueError, "2 dimensions"),
            "1-D": (prior.ravel(), ValueError, "2 dimensions"),
            "NaN": (np.where(prior > 0.5, np.nan, prior), ValueError, "NaN"),
            "complex": (prior.astype(np.complex128), TypeError, "complex128"),
            "empty": (np.zeros((0, 3)), ValueError, "empty"),
        }
        for name, (value, error, text) in cases.items():
            with self.subTest(prior=name):
                with self.assertRaisesRegex(error, text):
                    self.ex.set_prior_map(value)

    def test_prior_map_views_are_read_as_the_arrays_they_show(self):
        prior = np.random.default_rng(1).random((9, 13))
        maps = []
        for value in (np.ascontiguousarray(prior.T).T, prior[::-1][::-1], prior.tolist()):
            with decam.Explainer(self.planted, n_outputs=1, init="prior", **SMALL) as ex:
                ex.set_prior_map(value)
                maps.append(ex.explain(self.image, target=0).tobytes())
        with decam.Explainer(self.planted, n_outputs=1, init="prior", **SMALL) as ex:
            ex.set_prior_map(prior.T)  # another map: its transpose
            transposed = ex.explain(self.image, target=0).tobytes()
        self.assertEqual(maps[0], maps[1])
        self.assertEqual(maps[0], maps[2])
        self.assertNotEqual(maps[0], transposed)

    def test_evaluate_takes_any_truth_that_is_nonzero_on_the_object(self):
        saliency = self.ex.explain(self.image, target=0)
        truth = self.planted.truth
        expected = self.ex.evaluate(self.image, saliency, truth, target=0)
        for name, value in (("float", truth.astype(np.float32)), ("bool", truth != 0),
                            ("0.5 on the object", truth * 0.5), ("255", truth * 255)):
            with self.subTest(truth=name):
                got = self.ex.evaluate(self.image, saliency, value, target=0)
                self.assertEqual((got.pointing_game, got.energy_pointing_game),
                                 (expected.pointing_game, expected.energy_pointing_game))
                self.assertEqual(decam.pointing(saliency, value),
                                 (expected.pointing_game, expected.energy_pointing_game))
        with self.assertRaisesRegex(ValueError, "NaN"):
            self.ex.evaluate(self.image, saliency, np.where(truth, np.nan, 0), target=0)
        with self.assertRaisesRegex(ValueError, "NaN"):
            self.ex.evaluate(self.image, np.where(truth, np.nan, saliency), target=0)

    def test_pointing_and_rank_correlation_errors_say_what_is_wrong(self):
        ok = np.random.default_rng(2).random((8, 8))
        nan = ok.copy()
        nan[1, 1] = np.nan
        cases = {
            "pointing NaN": (lambda: decam.pointing(nan, ok > 0.5), ValueError, "NaN"),
            "pointing 1-D": (lambda: decam.pointing(ok.ravel(), ok.ravel() > 0.5), ValueError,
                             "2 dimensions"),
            "pointing too wide": (lambda: decam.pointing(np.ones((1, 70000)),
                                                         np.ones((1, 70000))),
                                  decam.DecamError, "outside the size limits"),
            "rank NaN": (lambda: decam.rank_correlation(nan, ok), ValueError, "NaN"),
            "rank infinite": (lambda: decam.rank_correlation(ok, np.where(nan > 0, 1, np.inf)),
                              ValueError, "infinite"),
            "rank one value": (lambda: decam.rank_correlation([1.0], [2.0]), ValueError,
                               "at least 2"),
            "rank shapes": (lambda: decam.rank_correlation(ok, ok.T[:4]), ValueError,
                            "same shape"),
            "rank complex": (lambda: decam.rank_correlation(ok + 0j, ok), TypeError,
                             "complex128"),
        }
        for name, (call, error, text) in cases.items():
            with self.subTest(case=name):
                with self.assertRaisesRegex(error, text) as cm:
                    call()
                self.assertNotIn("no context", str(cm.exception))

    def test_rank_correlation_of_views_equals_that_of_copies(self):
        a = np.random.default_rng(3).random((16, 16))
        b = np.random.default_rng(4).random((16, 16))
        self.assertEqual(decam.rank_correlation(a.T, b.T),
                         decam.rank_correlation(np.ascontiguousarray(a.T),
                                                np.ascontiguousarray(b.T)))


@unittest.skipIf(NO_NUMPY, NO_NUMPY)
class ParametersAndArguments(unittest.TestCase):
    def setUp(self):
        self.ex = decam.Explainer(Planted(7))

    def tearDown(self):
        self.ex.close()

    def test_negative_parameter_values_read_back(self):
        self.ex.set_param("baseline_value", -1.5)
        self.assertEqual(self.ex.get_param("baseline_value"), -1.5)
        self.assertEqual(self.ex.params["baseline_value"], -1.5)

    def test_set_param_refuses_values_that_are_not_numbers(self):
        for value in (None, [1], 1 + 2j, b"5"):
            with self.subTest(value=value):
                with self.assertRaisesRegex(TypeError, "budget must be a number"):
                    self.ex.set_param("budget", value)
        with self.assertRaisesRegex(TypeError, "name must be a str"):
            self.ex.set_param(4, 10)
        self.ex.set_param("budget", np.int64(500))
        self.assertEqual(self.ex.get_param("budget"), 500)

    def test_an_integer_beyond_any_double_is_out_of_range(self):
        for value in (10 ** 400, -10 ** 400):
            with self.assertRaises(decam.DecamError) as cm:
                self.ex.set_param("seed", value)
            self.assertEqual(cm.exception.status, decam.Status.OUT_OF_RANGE)
            self.assertIn("seed", str(cm.exception))

    def test_raw_map_without_a_map_says_so_not_an_older_message(self):
        with self.assertRaises(decam.DecamError):
            self.ex.set_param("budget", 0)  # leaves its message in the context
        with self.assertRaises(decam.DecamError) as cm:
            self.ex.raw_map()
        self.assertEqual(cm.exception.status, decam.Status.INVALID_ARGUMENT)
        self.assertIn("no explain()", str(cm.exception))
        self.assertNotIn("budget", str(cm.exception))

    def test_raw_map_inside_a_run_raises_busy(self):
        seen = []
        ex = None

        def model(batch):
            if not seen:
                try:
                    ex.raw_map()
                except decam.DecamError as e:
                    seen.append(e.status)
            return Planted(7)(batch)

        ex = decam.Explainer(model, n_outputs=1, **SMALL)
        ex.explain(Planted(7).image, target=0)
        seen.clear()
        ex.explain(Planted(7).image, target=0)  # also with the map of a run before
        self.assertEqual(seen, [decam.Status.BUSY])

    def test_constructor_checks_its_callables_and_the_log_level(self):
        with self.assertRaisesRegex(TypeError, "model must be callable"):
            decam.Explainer(3)
        with self.assertRaisesRegex(TypeError, "log must be None or a callable"):
            decam.Explainer(Planted(7), log="stderr")
        with self.assertRaisesRegex(TypeError, "progress must be"):
            decam.Explainer(Planted(7), progress="bar")
        with self.assertRaisesRegex(ValueError, "error, warning, info, debug"):
            decam.Explainer(Planted(7), log_level="loud")


@unittest.skipIf(NO_IO, NO_IO)
class ImageFunctions(unittest.TestCase):
    def setUp(self):
        base = Path(os.environ.get("DECAM_TEST_WORK", tempfile.gettempdir()))
        self.dir = Path(tempfile.mkdtemp(prefix="boundary-", dir=base))

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_a_nul_in_a_path_raises_value_error_and_writes_nothing(self):
        pixels = np.zeros((4, 4, 3), np.uint8)
        for path in (str(self.dir / "cut\0.png"), os.fsencode(self.dir / "cut\0.png"),
                     self.dir / "cut\0.png"):
            with self.subTest(path=type(path).__name__):
                with self.assertRaisesRegex(ValueError, "NUL"):
                    decam.save_image(path, pixels)
                with self.assertRaisesRegex(ValueError, "NUL"):
                    decam.load_image(path)
        self.assertEqual(list(self.dir.iterdir()), [], "nothing written")

    def test_float_pixels_in_0_1_are_saved_as_the_renderer_converts_them(self):
        rng = np.random.default_rng(5)
        floats = rng.random((6, 7, 3), dtype=np.float32)
        floats[0, 0] = (0.0, 1.0, 0.5 / 255)
        expected = np.floor(floats * np.float32(255) + np.float32(0.5)).astype(np.uint8)
        for name, value in (("float32", floats), ("float64", floats.astype(np.float64)),
                            ("a view", np.ascontiguousarray(floats.transpose(1, 0, 2))
                             .transpose(1, 0, 2))):
            with self.subTest(pixels=name):
                path = self.dir / f"{name}.png"
                decam.save_image(path, value)
                back = np.rint(decam.load_image(path) * 255).astype(np.uint8)
                self.assertEqual(back.tobytes(), expected.tobytes())
        # a rounding error beyond 1 is still 255
        decam.save_image(self.dir / "edge.png", np.full((2, 2), 1 + 1e-6))
        self.assertEqual(decam.load_image(self.dir / "edge.png", 1).min(), 1.0)

    def test_integer_pixels_in_0_255_are_saved_as_bytes(self):
        pixels = np.arange(48, dtype=np.int64).reshape(4, 4, 3) * 5
        decam.save_image(self.dir / "int.png", pixels)
        back = np.rint(decam.load_image(self.dir / "int.png") * 255).astype(np.int64)
        self.assertEqual(back.tolist(), pixels.tolist())

    def test_pixels_that_would_be_misread_are_refused(self):
        cases = {
            "floats in 0..255": (np.full((4, 4, 3), 200.0), ValueError, r"\[0, 1\]"),
            "negative floats": (np.full((4, 4), -0.2), ValueError, r"\[0, 1\]"),
            "NaN": (np.full((4, 4), np.nan), ValueError, "finite"),
            "int 300": (np.full((4, 4), 300), ValueError, "0..255"),
            "int -1": (np.full((4, 4), -1), ValueError, "0..255"),
            "bool": (np.ones((4, 4), bool), TypeError, "bool"),
            "complex": (np.ones((4, 4), complex), TypeError, "complex"),
            "1-D": (np.zeros(16, np.uint8), ValueError, "2 or 3 dimensions"),
            "empty": (np.zeros((0, 4, 3), np.uint8), ValueError, "empty"),
        }
        for name, (pixels, error, text) in cases.items():
            with self.subTest(pixels=name):
                with self.assertRaisesRegex(error, text):
                    decam.save_image(self.dir / "refused.png", pixels)
        self.assertEqual(list(self.dir.iterdir()), [], "nothing written")

    def test_resize_and_render_check_their_arguments(self):
        image = np.random.default_rng(6).random((8, 8, 3), dtype=np.float32)
        for args, error, text in (((0, 4), ValueError, "sides must lie in"),
                                  ((-3, 4), ValueError, "sides must lie in"),
                                  ((4.5, 4), TypeError, "width must be an integer"),
                                  ((65536, 65536), decam.DecamError, "more than")):
            with self.subTest(size=args):
                with self.assertRaisesRegex(error, text):
                    decam.resize(image, *args)
        with self.assertRaisesRegex(ValueError, "NaN"):
            decam.resize(np.full((4, 4), np.nan), 2, 2)
        self.assertEqual(decam.resize(image.transpose(1, 0, 2), 4, 4).tobytes(),
                         decam.resize(np.ascontiguousarray(image.transpose(1, 0, 2)), 4,
                                      4).tobytes())
        saliency = image[..., 0]
        with self.assertRaisesRegex(ValueError, "jet, turbo"):
            decam.render_panel(image, saliency, colormap="rainbow")
        with self.assertRaisesRegex(TypeError, "alpha must be a number"):
            decam.render_panel(image, saliency, alpha="half")
        with self.assertRaisesRegex(ValueError, "NaN"):
            decam.render_panel(image, np.full((8, 8), np.nan))
        with self.assertRaisesRegex(decam.DecamError, "alpha"):
            decam.render_panel(image, saliency, alpha=float("nan"))

    def test_load_image_channels_must_be_an_integer(self):
        with self.assertRaisesRegex(TypeError, "channels must be an integer"):
            decam.load_image(self.dir / "any.png", 2.5)


if __name__ == "__main__":
    unittest.main()
