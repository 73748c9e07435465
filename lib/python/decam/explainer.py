"""The Explainer: a C context with a model, its parameters and inputs, and
the calls that explain and evaluate with it (explain(), evaluate(),
explain_async()), with the callbacks, signal handling and unraisable hook
that bring an exception raised in the model back to the caller."""

import contextlib
import ctypes
import dataclasses
import difflib
import numbers
import signal
import sys
import threading

import numpy as np

from . import _run
from . import targets as targets_
from ._binding import (ENUMS, PARAMS, _LOG_FN, _LOG_LEVELS, _MODEL_FN, _PROGRESS_FN,
                       _TERMINATIONS, Cancelled, DecamError, Metrics, Progress, Stats, Status,
                       _c, _check, _CMetrics, _CProgress, _CStats, _fields, _floats, _lib)
from ._run import _progress_bar, _show_images
from .inputs import _as_numpy, _index, _no_bytes, _not_chw, _real_array, _truth_mask


class Explainer:
    """Explains the decisions of `model` with libdecam.

    model     a callable taking a float32 batch (n, H, W, C), or (n, C, H, W)
              with layout="chw", and returning n scores, shape (n,), or
              n x k scores, shape (n, k) (NumPy array, list, tensor).
              The batch is a read-only view of the library's buffer, valid
              only during the call: copy what you keep. When the images
              explained are torch tensors, the batch is a torch tensor on
              their device and the model runs under torch.no_grad(); a
              tensor cannot be read-only, so the first call (the probe,
              which scores the caller's image) gets a private copy, and
              the others the library's buffer: the caller's image never
              changes.
    grid      sets grid_width and grid_height together.
    progress  None; True for a bar (tqdm when installed, else text on
              stderr); or a callable(Progress) returning True to cancel.
    log       None, or a callable(level, message) receiving the library's
              messages ("error", "warning", "info", "debug") up to log_level.
    **params  any parameter of decam.h by name (see PARAMS), e.g. budget=500,
              seed=3, method="rise", objective="delete", batch_size=16.

    explain() takes one image, a batch or a list of images, and one or
    several targets per image; explain_async() does the same with an
    `async def` model, each call in a private context, so that several
    can be awaited together.

    One call at a time: explain(), evaluate() and the setters called from
    inside a callback of the same explainer raise DecamError(BUSY). An
    exception raised in a callback (KeyboardInterrupt included, also when
    Ctrl-C arrives while the library runs) stops the run and is re-raised,
    the same object, when the call returns. close() is safe anywhere.
    """

    def __init__(self, model, *, grid=None, progress=None, log=None, log_level="warning",
                 **params):
        self._lock = threading.RLock()  # guards _ctx, _running and _closed
        self._ctx, self._running, self._closed = None, False, False
        if not callable(model):
            raise TypeError(f"model must be callable, not {type(model).__name__}")
        if not (progress is None or isinstance(progress, bool) or callable(progress)):
            raise TypeError("progress must be None, True, False or a callable(Progress), not "
                            f"{type(progress).__name__}")
        if not (log is None or callable(log)):
            raise TypeError(f"log must be None or a callable(level, message), not "
                            f"{type(log).__name__}")
        if log_level not in _LOG_LEVELS:
            raise ValueError(f"log_level {log_level!r} is not one of {', '.join(_LOG_LEVELS)}")
        self._ctx = _lib.decam_create()
        if not self._ctx:
            raise MemoryError("decam_create failed")
        self.model, self.progress, self.log = model, progress, log
        self._log_level = _LOG_LEVELS.index(log_level)
        self._k = None  # outputs per image: n_outputs, or found by a probe
        self._pending = None  # the first exception raised inside a callback
        self._in_user_code = False  # inside a callback's call of the user's code
        self._in_c = False  # inside a C call of this explainer that may call back
        self._bar = None
        self._device = None  # the torch device of the images, when they are tensors
        self._inputs = {}  # baseline image and prior map as set, for clones
        self._failed = False  # the last run ended by an exception of the model
        self._item_stats = []
        self._clones = set()  # the private explainers of explain_async() calls running
        # the model's output layout for Detection and Region targets (targets.py)
        self.detection_layout = params.pop("detection_layout", None)
        self.dense_layout = params.pop("dense_layout", None)
        if grid is not None:
            params.setdefault("grid_width", grid)
            params.setdefault("grid_height", grid)
        for name, value in params.items():
            self.set_param(name, value)

    # -- lifetime
    def close(self):
        """Frees the C context; the explainer is unusable afterwards (its
        methods raise ValueError). Safe inside a callback: the run in
        progress stops after the model call in progress and the context is
        freed when explain() or evaluate() returns, which then raises
        Cancelled. Closing twice does nothing."""
        lock = getattr(self, "_lock", None)
        if lock is None:  # __init__ failed before there was anything to free
            return
        with lock:
            self._closed = True
            for clone in list(getattr(self, "_clones", ())):
                clone.close()
            if self._running:  # a call of this explainer is under way: it frees
                _lib.decam_force_stop(self._ctx)
                return
            ctx, self._ctx = self._ctx, None
            if ctx:
                _lib.decam_free(ctx)

    __del__ = close

    def __reduce_ex__(self, protocol):
        # A copy would share the C context and free it a second time.
        raise TypeError("an Explainer owns a C context and cannot be copied or pickled; "
                        "make another one (Explainer(model, **ex.params))")

    def __copy__(self):
        self.__reduce_ex__(None)

    def __deepcopy__(self, memo):
        self.__reduce_ex__(None)

    def __enter__(self):
        self._live("__enter__")
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self, function):
        """The context, or ValueError when the explainer is closed."""
        if self._closed:
            raise ValueError(f"{function}: the Explainer is closed")
        return self._ctx

    def _idle(self, function):
        """The context, when no call of this explainer is running."""
        ctx = self._live(function)
        if self._running:
            raise DecamError(Status.BUSY, f"{function} is not allowed while explain() or "
                             "evaluate() of the same Explainer runs (called from one of its "
                             "callbacks?)", function)
        return ctx

    # -- parameters
    def set_param(self, name, value):
        """Sets a parameter by name; enum parameters also accept names.
        Raises DecamError(BUSY) from inside a callback of this explainer."""
        self._idle("set_param")
        self._set(name, value)

    def _set(self, name, value):
        key = self._key(name)
        if isinstance(value, str):
            names = ENUMS.get(name, ())
            if value.lower() not in names:
                raise DecamError(Status.OUT_OF_RANGE, f"'{value}' is not a value of {name}; "
                                 f"expected one of {', '.join(names) or '(numbers only)'}",
                                 "set_param")
            value = names.index(value.lower())
        elif not isinstance(value, numbers.Real):
            raise TypeError(f"set_param: the value of {name} must be a number"
                            f"{' or a name' if name in ENUMS else ''}, not "
                            f"{type(value).__name__}")
        try:
            value = float(value)
        except OverflowError:  # an int beyond any double: beyond every range
            p = PARAMS[name]
            raise DecamError(Status.OUT_OF_RANGE, f"{name} = an integer of {len(str(abs(value)))}"
                             f" digits is outside its range [{p.lower:g}, {p.upper:g}]",
                             "decam_set_param") from None
        _check(_lib.decam_set_param(self._ctx, key, value), self._ctx, "decam_set_param")
        if name == "n_outputs":
            self._k = int(value)

    def get_param(self, name):
        """A parameter's value: a float, or a name for enum parameters."""
        self._live("get_param")
        return self._get(name)

    def _get(self, name):
        value = _c.c_double()
        _check(_lib.decam_get_param(self._ctx, self._key(name), value), self._ctx,
               "decam_get_param")
        names = ENUMS.get(name, ())
        return names[int(value.value)] if names and 0 <= value.value < len(names) else value.value

    @property
    def params(self):
        """Every parameter's current value, by name."""
        return {name: self.get_param(name) for name in PARAMS}

    @staticmethod
    def _key(name):
        if not isinstance(name, str):
            raise TypeError(f"a parameter name must be a str, not {type(name).__name__}")
        if name not in PARAMS:
            close = difflib.get_close_matches(name, PARAMS, n=3)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise DecamError(Status.UNKNOWN_PARAM, f"no parameter is named '{name}'{hint}",
                             "set_param")
        return PARAMS[name].key

    # -- inputs beyond the image
    def set_baseline_image(self, image):
        """The image of baseline="image" (same shape as the explained image);
        None clears it."""
        ctx = self._idle("set_baseline_image")
        if image is None:
            st = _lib.decam_set_baseline_image(ctx, None, 0, 0, 0)
        else:
            image, h, w, c = self._image(image, "baseline image")
            st = _lib.decam_set_baseline_image(ctx, image.ctypes.data, w, h, c)
        _check(st, ctx, "decam_set_baseline_image")
        self._inputs["baseline"] = None if image is None else image.copy()

    def set_prior_map(self, prior):
        """The prior map of init="prior": a 2-D (H, W) array of finite real
        numbers, any resolution; None clears it."""
        ctx = self._idle("set_prior_map")
        if prior is None:
            st = _lib.decam_set_prior_map(ctx, None, 0, 0)
        else:
            prior = _real_array(prior, "the prior map", (2,))
            st = _lib.decam_set_prior_map(ctx, prior.ctypes.data, prior.shape[1],
                                          prior.shape[0])
        _check(st, ctx, "decam_set_prior_map")
        self._inputs["prior"] = None if prior is None else prior.copy()

    # -- the work
    def explain(self, images, targets=None, *, target=None, detection_layout=None,
                dense_layout=None):
        """Saliency maps, float32 in [0, 1], always NumPy arrays (also for
        torch input, as pytorch-grad-cam returns them).

        images   one image (H, W, C), or (H, W) for one channel; a batch
                 (N, H, W, C); or a list (or tuple) of images of any sizes.
                 With layout="chw": (C, H, W) and (N, C, H, W). NumPy
                 arrays, lists or torch tensors (CPU or CUDA); with tensors
                 the model receives tensors on their device (see Explainer).
        targets  which outputs to explain:
                 None      each image's top output (one model call per
                           image outside the budget finds it)
                 an int    that output on every image
                 [t0, t1, ...]      one per image
                 [[a, b], [c], ...] several per image, one search each:
                           every target's map comes from the image's one
                           budget of queries (docs/bindings.md)
                 "top-k"   each image's k highest outputs on the
                           unmodified image (one model call per image
                           outside the budget), highest first
                 target= is the same argument under its old name; an
                 object with an int `category` (pytorch-grad-cam's
                 ClassifierOutputTarget) counts as that int.
                 Detection, Similarity or Region objects (decam.targets,
                 one kind per call) in place of ints: a flat list for one
                 image gives its (K, H, W) maps; detection_layout= or
                 dense_layout= (else the Explainer's) describe the output.

        Returns, for one image, (H, W) (None, an int or [t]) or (K, H, W)
        (a list of lists, or "top-k", also "top-1" and K = 1: its maps
        always keep the K axis); for a batch (N, H, W) or (N, K, H, W);
        for a list of images a list of those per-image arrays. The number
        of outputs is found by the first probe unless n_outputs was set.
        Every image gets the whole budget and the seed, and its maps are
        those of explaining it alone. Afterwards `stats` holds the run's
        totals (with the per-image fields of the first image) and
        `item_stats` each image's own.

        Raises TypeError or ValueError for images or targets of the wrong
        kind or shape (before anything is queried), DecamError for what
        the library refuses (a target at or beyond n_outputs is
        OUT_OF_RANGE), Cancelled (stop(), a progress callback, close()),
        or whatever the model raised, as it is (the run is abandoned and
        the explainer stays usable)."""
        if target is not None:
            if targets is not None:
                raise TypeError("explain() got both targets= and target= (the same argument)")
            targets = target
        if targets_.has_objects(targets):
            return targets_.explain(self, images, targets, detection_layout, dense_layout)
        with self._call("explain"):
            images = _run.Images(images, self._get("layout") == "chw")
            self._device = images.device
            gen = _run.steps(self, images, targets)
            return _run.drive(gen, lambda batch: images.call(self.model, batch))

    async def explain_async(self, images, model, targets=None):
        """explain() with an `async def` model (batch -> scores, as for the
        Explainer's model; a plain callable works too): awaits the model
        for every batch, so that several explanations awaited together
        (asyncio.gather) overlap its latency. Each call runs in a private
        context with this explainer's parameters, baseline image and prior
        map (set before the call), progress and log settings, so calls may
        overlap; the maps are those explain() gives with the same
        parameters. Their statistics are not kept (`stats` describes this
        explainer's own last explain()). close() and stop() of this
        explainer stop the calls running. Returns and raises as explain();
        a cancelled task abandons its run."""
        from . import aio  # it builds on this module
        return await aio.explain_async(self, images, model, targets)

    def evaluate(self, image, saliency, truth=None, target=None, *, detection_layout=None,
                 dense_layout=None):
        """Faithfulness of any `saliency` map (H, W) on `image`, with this
        model: a Metrics (deletion/insertion AUC, average drop, ...; the
        pointing games when a ground-truth mask `truth` (H, W) is given).
        `target` as in explain(); its queries are counted in Metrics.queries.
        A Detection target with no `truth` is pointed at its box."""
        if targets_.is_object(target):
            return targets_.evaluate(self, image, saliency, truth, target, detection_layout,
                                     dense_layout)
        with self._call("evaluate"):
            self._device = _run.Images._device([image])
            image, h, w, c = self._image(image)
            saliency = _real_array(saliency, "saliency", (2,))
            if saliency.shape != (h, w):
                raise ValueError(f"saliency has shape {saliency.shape}, the image {(h, w)}")
            if truth is not None:
                truth = _truth_mask(truth)
                if truth.shape != (h, w):
                    raise ValueError(f"truth has shape {truth.shape}, the image {(h, w)}")
            self._set_target(image, target)
            metrics = _CMetrics(size=ctypes.sizeof(_CMetrics))
            self._callback_run("decam_evaluate", image.ctypes.data, w, h, c, saliency.ctypes.data,
                      None if truth is None else truth.ctypes.data, _c.byref(metrics))
            return _fields(metrics, Metrics)

    def stop(self):
        """Stops a running explain() after the model call in progress (it then
        raises Cancelled). Safe from callbacks and other threads; does
        nothing on a closed explainer."""
        with self._lock:
            for clone in list(self._clones):
                clone.stop()
            if self._ctx:
                _lib.decam_force_stop(self._ctx)

    @property
    def stats(self):
        """Statistics of the last explain() (a Stats): for several images
        the run's totals (queries, model calls, times) with the per-image
        fields (generations, termination, fitness, scores) of the first.
        A run that the model's exception ended says termination="error"."""
        ctx = self._live("stats")
        s = _CStats(size=ctypes.sizeof(_CStats))
        _check(_lib.decam_get_stats(ctx, s), ctx, "decam_get_stats")
        values = {f.name: getattr(s, f.name) for f in dataclasses.fields(Stats)}
        values["termination"] = "error" if self._failed else _TERMINATIONS[s.termination]
        return Stats(**values)

    @property
    def item_stats(self):
        """Statistics of each image of the last explain(), a list of Stats
        in the order of the images (queries and model calls count that
        image's own, model_seconds its share of the calls)."""
        self._live("item_stats")
        return list(self._item_stats)

    def raw_map(self):
        """The last run's map before normalisation, in the method's units and
        resolution (DE-CAM: per pixel, or the gene grid for the grid assemblies)."""
        ctx = self._idle("raw_map")  # inside a run there is no last map yet
        w, h = _c.c_int(), _c.c_int()
        # decam_get_raw_map sets no message (its context is const): say it here
        if _lib.decam_get_raw_map(ctx, None, 0, w, h) != Status.OK:
            raise DecamError(Status.INVALID_ARGUMENT, "there is no map: no explain() has run "
                             "on this Explainer, or the last one failed before its map",
                             "decam_get_raw_map")
        out = np.empty((h.value, w.value), np.float32)
        _check(_lib.decam_get_raw_map(ctx, out.ctypes.data, out.size, None, None),
               ctx, "decam_get_raw_map")
        return out

    # -- internals
    def _image(self, image, what="image"):
        """A C-contiguous float32 image and its height, width, channels."""
        _no_bytes(image, what)
        image = _real_array(image, what, (2, 3))
        chw = self._get("layout") == "chw"
        _not_chw(image.shape, what, chw)
        if image.ndim == 2:
            image = image[None] if chw else image[..., None]
        c, h, w = image.shape if chw else (image.shape[2], image.shape[0], image.shape[1])
        return image, h, w, c

    @contextlib.contextmanager
    def _call(self, function):
        """One explain() or evaluate(): refused inside another one (BUSY);
        frees the context afterwards if close() was called meanwhile."""
        with self._lock:
            self._idle(function)
            self._running = True
        try:
            yield
        finally:
            with self._lock:
                self._running = False
                if self._closed:
                    ctx, self._ctx = self._ctx, None
                    _lib.decam_free(ctx)

    def _set_target(self, image, target):
        if target is not None:
            target = _index(target, "target")
        if target is None or self._k is None:
            probe = self._scores(image[None], 1, copy=True)  # outside the budget
            self._k = probe.size
            if target is None:
                target = int(np.argmax(probe))
        self._set("n_outputs", self._k)
        self._set("target", target)

    def _scores(self, batch, n, copy=False):
        """The model's scores for a NumPy batch, checked: (n,) or (n, k).
        For torch images (self._device set) the model gets a tensor on
        their device, under torch.no_grad(), as explain() gives it; `copy`
        when the batch may be the caller's own memory (see _run.for_model)."""
        batch = _run.for_model(batch, self._device, copy)
        return self._checked(_run.call(self.model, batch, self._device), n)

    def _checked(self, scores, n):
        """Scores the model returned for n images, checked: (n,) or (n, k)."""
        scores = _as_numpy(scores)
        k = self._k if self._k is not None else max(scores.size // n, 1)
        if scores.shape != (n, k) and not (k == 1 and scores.shape == (n,)):
            raise ValueError(f"the model returned shape {scores.shape} for a batch of {n} "
                             f"images; expected ({n}, {k})" + (f" or ({n},)" if k == 1 else ""))
        return scores

    # The callbacks. An exception may be raised anywhere in them, even
    # before their first line (a signal handler runs at the first
    # instruction of a frame): ctypes then returns an undefined int to C.
    # So: the signal handlers of a run only raise inside the user's code
    # (_in_user_code), where the try below catches it, and defer their
    # exception elsewhere (_deferring_handler); anything that still escapes
    # reaches _unraisable_hook, which remembers it and stops the run.
    def _remember(self, e):
        """Keeps the first exception of a run, re-raised when it returns,
        and stops the run."""
        if self._pending is None:
            self._pending = e
        _lib.decam_force_stop(self._ctx)

    def _on_model(self, user, images, n, scores):
        try:
            if self._pending is not None or self._closed:
                return 1  # stopping: the model is not called again
            try:
                self._in_user_code = True
                h, w, c = self._shape
                shape = (n, c, h, w) if self._chw else (n, h, w, c)
                result = self._scores(_floats(images, shape, False), n)
                _floats(scores, (result.size,), True)[:] = result.ravel()
            finally:
                self._in_user_code = False
            return 0
        except BaseException as e:  # KeyboardInterrupt too: re-raised after the call
            self._remember(e)
            return 1

    def _on_progress(self, user, p):
        try:
            if self._pending is not None:
                return 1
            try:
                self._in_user_code = True
                p = p.contents
                items = ((p.item, p.items, p.items_done) if p.size >= ctypes.sizeof(_CProgress)
                         else ())  # a 0.2 library has no item fields
                info = Progress(p.queries, p.budget, p.generation, p.best_fitness,
                                p.mean_fitness, *items)
                if callable(self.progress):
                    cancel = bool(self.progress(info))
                else:
                    if self._bar is None:  # the budget parameter is per image
                        total = int(self._get("budget")) * max(info.items, 1)
                        self._bar = _progress_bar(total, info.items)
                    self._bar.update(info.queries - self._bar.n)
                    if info.items > 1:
                        _show_images(self._bar, info.items_done, info.items)
                    cancel = False
            finally:
                self._in_user_code = False
            return 1 if cancel else 0
        except BaseException as e:
            self._remember(e)
            return 1

    def _on_log(self, user, level, message):
        try:
            try:
                self._in_user_code = True
                self.log(_LOG_LEVELS[level], message.decode(errors="replace"))
            finally:
                self._in_user_code = False
        except BaseException as e:  # stops the run; re-raised after the call
            self._remember(e)

    def _deferring_handler(self, previous):
        """A signal handler for the duration of a run: `previous` (say
        Python's KeyboardInterrupt handler) raises straight into the user's
        code in a callback, and wherever no C call of this explainer is
        under way (between the calls of ask/tell, in the model); inside a
        callback's own code its exception is remembered and the run
        stopped, so that no exception escapes a callback to C. Outside a
        run it is `previous` alone, even if a signal cut its removal short."""

        def handler(signum, frame):
            if self._in_user_code or not self._in_c:
                return previous(signum, frame)
            try:
                return previous(signum, frame)
            except BaseException as e:
                self._remember(e)

        handler.decam_previous = previous
        return handler

    def _wrap_signals(self, wrapped):
        """Installs _deferring_handler over every Python signal handler (only
        the main thread runs them, and only it may set them), listing them
        in `wrapped` as it goes."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in signal.valid_signals():
            try:
                previous = signal.getsignal(signum)
                if callable(previous):
                    signal.signal(signum, self._deferring_handler(previous))
                    wrapped.append(signum)
            except (OSError, ValueError):  # not a signal Python can handle
                pass

    @staticmethod
    def _restore_signals(wrapped):
        for signum in wrapped:
            handler = signal.getsignal(signum)
            previous = getattr(handler, "decam_previous", None)
            if previous is not None:  # else the user's code set its own: kept
                signal.signal(signum, previous)

    @contextlib.contextmanager
    def _session(self, model_cb=None):
        """The callbacks and signal handlers of one C run, set on the context
        for its duration: they live (and keep self alive) only that long."""
        self._pending, self._bar, self._in_c = None, None, False
        _install_unraisable_hook()
        progress_cb = _PROGRESS_FN(self._on_progress) if self.progress else _PROGRESS_FN()
        log_cb = _LOG_FN(self._on_log) if self.log else _LOG_FN()
        ctx, wrapped = self._ctx, []
        try:
            self._wrap_signals(wrapped)
            if model_cb is not None:
                _lib.decam_set_model(ctx, model_cb, None)
            _lib.decam_set_progress(ctx, progress_cb, None)
            _lib.decam_set_log(ctx, log_cb, None, self._log_level)
            yield
        finally:
            self._in_c = False  # from here a signal raises where it lands, as usual
            if model_cb is not None:
                _lib.decam_set_model(ctx, _MODEL_FN(), None)
            _lib.decam_set_progress(ctx, _PROGRESS_FN(), None)
            _lib.decam_set_log(ctx, _LOG_FN(), None, self._log_level)
            self._restore_signals(wrapped)
            try:
                if self._bar is not None:
                    self._bar.close()
            finally:
                self._bar = None

    def _c(self, function, *args):
        """A C call that may call back: (status, the library's message)."""
        self._in_c = True
        try:
            status = getattr(_lib, function)(*args)
        finally:
            self._in_c = False
        message = _lib.decam_errmsg(self._ctx).decode(errors="replace") if status else ""
        return status, message

    def _raise_pending(self):
        """Raises the first exception of a callback of the run, if any: the
        very object, with its traceback."""
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending

    def _callback_run(self, function, image_ptr, w, h, c, *args, cancelled_map=None):
        """Calls decam_evaluate (or another call that runs the model
        callback) with the callbacks set."""
        self._shape, self._chw = (h, w, c), self._get("layout") == "chw"
        status, message = Status.CANCELLED, ""
        with self._session(_MODEL_FN(self._on_model)):
            if not self._closed:  # close() may have come from the target's probe
                status, message = self._c(function, self._ctx, image_ptr, w, h, c, *args)
        self._raise_pending()  # the model's (or a callback's) own exception
        if self._closed:
            raise Cancelled("the Explainer was closed during the run", function, cancelled_map)
        if status == Status.CANCELLED:
            raise Cancelled(message, function, cancelled_map)
        if status != Status.OK:
            raise DecamError(status, message, function)


_CALLBACKS = (Explainer._on_model, Explainer._on_progress, Explainer._on_log)


def _unraisable_hook(unraisable):
    """An exception that escaped a callback of a running Explainer (ctypes
    reports it here, and returns an undefined value to C): remembered and
    re-raised by the run, which is stopped. Anything else goes on to the
    hook that was there before."""
    callback = unraisable.object
    owner = getattr(callback, "__self__", None)
    if (isinstance(owner, Explainer) and getattr(callback, "__func__", None) in _CALLBACKS
            and owner._running and unraisable.exc_value is not None):
        owner._remember(unraisable.exc_value)
        return
    _unraisable_hook.previous(unraisable)


def _install_unraisable_hook():
    """Puts _unraisable_hook in front of sys.unraisablehook, once (a hook
    set later by the program takes over, and may call ours or not)."""
    if not hasattr(_unraisable_hook, "previous"):
        _unraisable_hook.previous = sys.unraisablehook
        sys.unraisablehook = _unraisable_hook
