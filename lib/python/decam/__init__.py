"""decam - a Python binding of libdecam over its plain C ABI (ctypes, NumPy).

    import numpy as np, decam

    def model(batch):                      # (n, H, W, C) float32, read-only
        return batch[:, 20:40, 20:40, 0].mean(axis=(1, 2))   # (n,) or (n, k)

    with decam.Explainer(model, grid=7, budget=1000, seed=0) as ex:
        saliency = ex.explain(image)       # (H, W) float32 in [0, 1]
        print(ex.stats.queries, ex.evaluate(image, saliency).deletion_auc)

No compiled extension: the shared library is loaded with ctypes from
$DECAM_LIBRARY, else the copy installed inside this package (`pip install .`
bundles it), else wherever ctypes.util.find_library("decam") finds it (an
installed libdecam), else the usual build directories of this source tree.
Every parameter of decam.h is available by its name (the table is read
from the library at import); enum parameters also take names
(method="rise"). Errors raise DecamError with the library's status and
message; an exception raised by the model is re-raised as it is.
"""

import ctypes
import ctypes.util
import dataclasses
import difflib
import enum
import os
import sys
import sysconfig
from pathlib import Path

import numpy as np

__all__ = ["Explainer", "DecamError", "Cancelled", "Status", "Stats", "Metrics", "Progress",
           "PARAMS", "version", "pointing", "load_image", "resize", "render_panel",
           "save_image", "LIBRARY_PATH"]

# ---- finding and loading the library -----------------------------------------


def _candidates():
    """Where to look for libdecam, in order."""
    env = os.environ.get("DECAM_LIBRARY")
    if env:
        return [env]  # an explicit choice: no silent fallback to another copy
    here = Path(__file__).resolve().parent
    bundled = [str(here / "libdecam.so")]  # what `pip install .` puts here
    found = ctypes.util.find_library("decam")
    root = here.parent.parent.parent  # the source tree: lib/python/decam/
    # Only plain builds: a sanitizer build cannot be loaded into python3.
    builds = ["build", "builddir", "build/default", "build/release", "_build"]
    # meson install's default place, which ldconfig may not know yet
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    installed = [os.path.join("/usr/local/lib", d, "libdecam.so.0") for d in (multiarch, "")]
    paths = (bundled + [found] + [str(root / b / "lib" / "libdecam.so") for b in builds] +
             installed)
    return list(dict.fromkeys(p for p in paths if p))


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{path} (missing)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("decam: cannot find libdecam. Tried:\n  " + "\n  ".join(tried) +
                      "\nBuild it (meson setup build && ninja -C build) or set "
                      "DECAM_LIBRARY=/path/to/libdecam.so")


_lib, LIBRARY_PATH = _load()

# ---- the C declarations --------------------------------------------------------

_c = ctypes
_MODEL_FN = _c.CFUNCTYPE(_c.c_int, _c.c_void_p, _c.c_void_p, _c.c_size_t, _c.c_void_p)
_LOG_FN = _c.CFUNCTYPE(None, _c.c_void_p, _c.c_int, _c.c_char_p)


class _CProgress(_c.Structure):
    _fields_ = [("size", _c.c_size_t), ("queries", _c.c_uint64), ("budget", _c.c_uint64),
                ("generation", _c.c_uint32), ("best_fitness", _c.c_double),
                ("mean_fitness", _c.c_double)]


_PROGRESS_FN = _c.CFUNCTYPE(_c.c_int, _c.c_void_p, _c.POINTER(_CProgress))


class _CStats(_c.Structure):
    _fields_ = [("size", _c.c_size_t), ("queries", _c.c_uint64), ("model_calls", _c.c_uint64),
                ("generations", _c.c_uint32), ("termination", _c.c_int32),
                ("best_fitness", _c.c_double), ("score_full", _c.c_double),
                ("score_keep", _c.c_double), ("score_drop", _c.c_double),
                ("model_seconds", _c.c_double), ("library_seconds", _c.c_double)]


class _CMetrics(_c.Structure):
    _fields_ = [("size", _c.c_size_t), ("deletion_auc", _c.c_double),
                ("insertion_auc", _c.c_double), ("average_drop", _c.c_double),
                ("increase_in_confidence", _c.c_double), ("pointing_game", _c.c_double),
                ("energy_pointing_game", _c.c_double), ("score_full", _c.c_double),
                ("score_masked", _c.c_double), ("steps", _c.c_uint64), ("queries", _c.c_uint64)]


_P, _I, _D, _S = _c.c_void_p, _c.c_int, _c.c_double, _c.c_size_t
_PROTOTYPES = {  # name: (restype, argtypes); pointers to arrays are void *
    "decam_version_string": (_c.c_char_p, []),
    "decam_status_string": (_c.c_char_p, [_I]),
    "decam_errmsg": (_c.c_char_p, [_P]),
    "decam_create": (_P, []),
    "decam_free": (None, [_P]),
    "decam_set_model": (_I, [_P, _MODEL_FN, _P]),
    "decam_explain": (_I, [_P, _P, _I, _I, _I, _P]),
    "decam_set_param": (_I, [_P, _I, _D]),
    "decam_get_param": (_I, [_P, _I, _c.POINTER(_D)]),
    "decam_param_bounds": (_I, [_I, _c.POINTER(_D), _c.POINTER(_D), _c.POINTER(_D)]),
    "decam_param_name": (_c.c_char_p, [_I]),
    "decam_param_count": (_I, []),
    "decam_param_key": (_I, [_I]),
    "decam_value_name": (_c.c_char_p, [_I, _I]),
    "decam_set_baseline_image": (_I, [_P, _P, _I, _I, _I]),
    "decam_set_prior_map": (_I, [_P, _P, _I, _I]),
    "decam_set_progress": (_I, [_P, _PROGRESS_FN, _P]),
    "decam_set_log": (_I, [_P, _LOG_FN, _P, _I]),
    "decam_force_stop": (None, [_P]),
    "decam_get_stats": (_I, [_P, _c.POINTER(_CStats)]),
    "decam_get_raw_map": (_I, [_P, _P, _S, _c.POINTER(_I), _c.POINTER(_I)]),
    "decam_evaluate": (_I, [_P, _P, _I, _I, _I, _P, _P, _c.POINTER(_CMetrics)]),
    "decam_pointing": (_I, [_P, _P, _I, _I, _c.POINTER(_D), _c.POINTER(_D)]),
    "decam_rank_correlation": (_I, [_P, _P, _S, _c.POINTER(_D)]),
    "decam_progress_size": (_S, []),
    "decam_stats_size": (_S, []),
    "decam_metrics_size": (_S, []),
    # the optional I/O part (decam_io.h); absent from a -Dio=disabled build
    "decam_image_load": (_I, [_P, _c.c_char_p, _I, _c.POINTER(_c.POINTER(_c.c_float)),
                              _c.POINTER(_I), _c.POINTER(_I)]),
    "decam_image_free": (None, [_P, _P]),
    "decam_image_resize": (_I, [_P, _P, _I, _I, _I, _P, _I, _I, _I]),
    "decam_render_panel": (_I, [_P, _P, _I, _I, _I, _P, _I, _c.c_float, _c.c_float, _P]),
    "decam_image_save": (_I, [_P, _c.c_char_p, _I, _P, _I, _I, _I]),
}
for _name, (_res, _args) in _PROTOTYPES.items():
    if hasattr(_lib, _name):
        _f = getattr(_lib, _name)
        _f.restype, _f.argtypes = _res, _args

for _struct, _size in ((_CProgress, _lib.decam_progress_size()), (_CStats, _lib.decam_stats_size()),
                       (_CMetrics, _lib.decam_metrics_size())):
    if _size < ctypes.sizeof(_struct):  # fields are only ever appended
        raise ImportError(f"decam: {LIBRARY_PATH} is older than this binding "
                          f"({_struct.__name__[2:]} is {_size} bytes, expected "
                          f">= {ctypes.sizeof(_struct)})")

# ---- statuses and errors ---------------------------------------------------------


class Status(enum.IntEnum):
    """decam_status; the values are fixed by the ABI."""
    OK = 0
    INVALID_ARGUMENT = 1
    UNKNOWN_PARAM = 2
    OUT_OF_RANGE = 3
    OUT_OF_MEMORY = 4
    TOO_LARGE = 5
    NO_MODEL = 6
    MODEL_FAILED = 7
    BAD_SCORE = 8
    BUDGET_TOO_SMALL = 9
    CANCELLED = 10
    BUSY = 11
    MISSING_INPUT = 12
    IO = 13
    FORMAT = 14
    UNSUPPORTED = 15


class DecamError(Exception):
    """A libdecam failure: .status (a Status), .message (the library's line)."""

    def __init__(self, status, message, function=""):
        self.status = Status(status)
        self.message = message
        name = _lib.decam_status_string(int(status)).decode()
        super().__init__(f"{function + ': ' if function else ''}{name}: {message}")


class Cancelled(DecamError):
    """The run was stopped (progress callback or stop()); .saliency holds the
    map of the queries made until then."""

    def __init__(self, message, function, saliency):
        super().__init__(Status.CANCELLED, message, function)
        self.saliency = saliency


def _check(status, ctx, function):
    if status != Status.OK:
        raise DecamError(status, _lib.decam_errmsg(ctx).decode(errors="replace"), function)


def version():
    """The version of the loaded library, "MAJOR.MINOR.PATCH"."""
    return _lib.decam_version_string().decode()


# ---- parameters: the table comes from the library ------------------------------


@dataclasses.dataclass(frozen=True)
class Param:
    key: int
    name: str
    lower: float
    upper: float
    default: float


def _param_table():
    table = {}
    for index in range(_lib.decam_param_count()):
        key = _lib.decam_param_key(index)
        lo, hi, de = _c.c_double(), _c.c_double(), _c.c_double()
        if _lib.decam_param_bounds(key, lo, hi, de) == Status.OK:
            name = _lib.decam_param_name(key).decode()
            table[name] = Param(key, name, lo.value, hi.value, de.value)
    return table


PARAMS = _param_table()

def _enum_table():
    """Names of the values of enum parameters, from the library."""
    table = {}
    for p in PARAMS.values():
        names = []
        while _lib.decam_value_name(p.key, len(names)) is not None:
            names.append(_lib.decam_value_name(p.key, len(names)).decode())
        if names:
            table[p.name] = tuple(names)
    return table


ENUMS = _enum_table()
_TERMINATIONS = ("none", "budget", "generations", "tolerance", "cancelled", "forced", "error")
_LOG_LEVELS = ("error", "warning", "info", "debug")

# ---- results ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Progress:
    queries: int
    budget: int
    generation: int
    best_fitness: float
    mean_fitness: float


@dataclasses.dataclass(frozen=True)
class Stats:
    queries: int
    model_calls: int
    generations: int
    termination: str
    best_fitness: float
    score_full: float
    score_keep: float
    score_drop: float
    model_seconds: float
    library_seconds: float


@dataclasses.dataclass(frozen=True)
class Metrics:
    deletion_auc: float
    insertion_auc: float
    average_drop: float
    increase_in_confidence: float
    pointing_game: float
    energy_pointing_game: float
    score_full: float
    score_masked: float
    steps: int
    queries: int


def _fields(cstruct, cls):
    return cls(**{f.name: getattr(cstruct, f.name) for f in dataclasses.fields(cls)})


def _floats(address, shape, writeable):
    """A NumPy view of `shape` floats at a C address: no copy."""
    count = int(np.prod(shape))
    view = np.frombuffer((_c.c_float * count).from_address(address), dtype=np.float32)
    view = view.reshape(shape)
    view.flags.writeable = writeable
    return view


def _as_numpy(scores):
    if hasattr(scores, "detach"):  # a torch tensor, even one that requires grad
        scores = scores.detach().cpu().numpy()
    return np.asarray(scores, dtype=np.float32)


class _TextBar:
    """Progress on stderr, one line redrawn; used when tqdm is not installed."""

    def __init__(self, total):
        self.total, self.n = total, 0

    def update(self, k):
        self.n += k
        sys.stderr.write(f"\rdecam: {self.n}/{self.total} queries")
        sys.stderr.flush()

    def close(self):
        sys.stderr.write("\n")


def _progress_bar(total):
    try:
        from tqdm import tqdm
    except ImportError:
        return _TextBar(total)
    return tqdm(total=total, unit="query", desc="decam")

# ---- the explainer --------------------------------------------------------------


class Explainer:
    """Explains the decisions of `model` with libdecam.

    model     a callable taking a float32 batch (n, H, W, C), or (n, C, H, W)
              with layout="chw", and returning n scores, shape (n,), or
              n x k scores, shape (n, k) (NumPy array, list, CPU tensor).
              The batch is a read-only view of the library's buffer, valid
              only during the call: copy what you keep.
    grid      sets grid_width and grid_height together.
    progress  None; True for a bar (tqdm when installed, else text on
              stderr); or a callable(Progress) returning True to cancel.
    log       None, or a callable(level, message) receiving the library's
              messages ("error", "warning", "info", "debug") up to log_level.
    **params  any parameter of decam.h by name (see PARAMS), e.g. budget=500,
              seed=3, method="rise", objective="delete", batch_size=16.
    """

    def __init__(self, model, *, grid=None, progress=None, log=None, log_level="warning",
                 **params):
        if not callable(model):
            raise TypeError("model must be callable")
        self._ctx = _lib.decam_create()
        if not self._ctx:
            raise MemoryError("decam_create failed")
        self.model, self.progress, self.log = model, progress, log
        self._log_level = _LOG_LEVELS.index(log_level)
        self._k = None  # outputs per image: n_outputs, or found by a probe
        self._pending = None  # an exception raised inside a callback
        if grid is not None:
            params.setdefault("grid_width", grid)
            params.setdefault("grid_height", grid)
        for name, value in params.items():
            self.set_param(name, value)

    # -- lifetime
    def close(self):
        """Frees the C context; the explainer is unusable afterwards."""
        if getattr(self, "_ctx", None):
            _lib.decam_free(self._ctx)
            self._ctx = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- parameters
    def set_param(self, name, value):
        """Sets a parameter by name; enum parameters also accept names."""
        key = self._key(name)
        if isinstance(value, str):
            names = ENUMS.get(name, ())
            if value.lower() not in names:
                raise DecamError(Status.OUT_OF_RANGE, f"'{value}' is not a value of {name}; "
                                 f"expected one of {', '.join(names) or '(numbers only)'}",
                                 "set_param")
            value = names.index(value.lower())
        _check(_lib.decam_set_param(self._ctx, key, float(value)), self._ctx, "decam_set_param")
        if name == "n_outputs":
            self._k = int(value)

    def get_param(self, name):
        """A parameter's value: a float, or a name for enum parameters."""
        value = _c.c_double()
        _check(_lib.decam_get_param(self._ctx, self._key(name), value), self._ctx,
               "decam_get_param")
        names = ENUMS.get(name, ())
        return names[int(value.value)] if value.value < len(names) else value.value

    @property
    def params(self):
        """Every parameter's current value, by name."""
        return {name: self.get_param(name) for name in PARAMS}

    @staticmethod
    def _key(name):
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
        if image is None:
            st = _lib.decam_set_baseline_image(self._ctx, None, 0, 0, 0)
        else:
            image, h, w, c = self._image(image)
            st = _lib.decam_set_baseline_image(self._ctx, image.ctypes.data, w, h, c)
        _check(st, self._ctx, "decam_set_baseline_image")

    def set_prior_map(self, prior):
        """The prior map of init="prior" (any H x W floats); None clears it."""
        if prior is None:
            st = _lib.decam_set_prior_map(self._ctx, None, 0, 0)
        else:
            prior = np.ascontiguousarray(prior, dtype=np.float32)
            st = _lib.decam_set_prior_map(self._ctx, prior.ctypes.data, prior.shape[1],
                                          prior.shape[0])
        _check(st, self._ctx, "decam_set_prior_map")

    # -- the work
    def explain(self, image, target=None):
        """The saliency map of output `target` on `image`: (H, W) float32 in
        [0, 1]. `image` is (H, W, C) float32 ((C, H, W) with layout="chw"),
        or (H, W) for one channel. target=None explains the model's top
        output; finding it (and the number of outputs, if not given as
        n_outputs) costs one model call outside the budget.
        Raises DecamError, Cancelled, or what the model raised."""
        image, h, w, c = self._image(image)
        self._set_target(image, target)
        saliency = np.empty((h, w), np.float32)
        self._run("decam_explain", image.ctypes.data, w, h, c, saliency.ctypes.data,
                  cancelled_map=saliency)
        return saliency

    def evaluate(self, image, saliency, truth=None, target=None):
        """Faithfulness of any `saliency` map (H, W) on `image`, with this
        model: a Metrics (deletion/insertion AUC, average drop, ...; the
        pointing games when a ground-truth mask `truth` (H, W) is given).
        `target` as in explain(); its queries are counted in Metrics.queries."""
        image, h, w, c = self._image(image)
        saliency = np.ascontiguousarray(saliency, dtype=np.float32)
        if saliency.shape != (h, w):
            raise ValueError(f"saliency has shape {saliency.shape}, the image {(h, w)}")
        if truth is not None:
            truth = np.ascontiguousarray(truth, dtype=np.uint8)
            if truth.shape != (h, w):
                raise ValueError(f"truth has shape {truth.shape}, the image {(h, w)}")
        self._set_target(image, target)
        metrics = _CMetrics(size=ctypes.sizeof(_CMetrics))
        self._run("decam_evaluate", image.ctypes.data, w, h, c, saliency.ctypes.data,
                  None if truth is None else truth.ctypes.data, _c.byref(metrics))
        return _fields(metrics, Metrics)

    def stop(self):
        """Stops a running explain() after the model call in progress (it then
        raises Cancelled). Safe from callbacks and other threads."""
        _lib.decam_force_stop(self._ctx)

    @property
    def stats(self):
        """Statistics of the last explain() (a Stats)."""
        s = _CStats(size=ctypes.sizeof(_CStats))
        _check(_lib.decam_get_stats(self._ctx, s), self._ctx, "decam_get_stats")
        values = {f.name: getattr(s, f.name) for f in dataclasses.fields(Stats)}
        values["termination"] = _TERMINATIONS[s.termination]
        return Stats(**values)

    def raw_map(self):
        """The last run's map before normalisation, in the method's units and
        resolution (DE-CAM: per pixel, or the gene grid for the grid assemblies)."""
        w, h = _c.c_int(), _c.c_int()
        _check(_lib.decam_get_raw_map(self._ctx, None, 0, w, h), self._ctx, "decam_get_raw_map")
        out = np.empty((h.value, w.value), np.float32)
        _check(_lib.decam_get_raw_map(self._ctx, out.ctypes.data, out.size, None, None),
               self._ctx, "decam_get_raw_map")
        return out

    # -- internals
    def _image(self, image):
        """A C-contiguous float32 image and its height, width, channels."""
        image = np.ascontiguousarray(image, dtype=np.float32)
        chw = self.get_param("layout") == "chw"
        if image.ndim == 2:
            image = image[None] if chw else image[..., None]
        if image.ndim != 3:
            raise ValueError(f"image must have 2 or 3 dimensions, not shape {image.shape}")
        c, h, w = image.shape if chw else (image.shape[2], image.shape[0], image.shape[1])
        return image, h, w, c

    def _set_target(self, image, target):
        if target is None or self._k is None:
            probe = self._scores(image[None], 1)  # one query outside the budget
            self._k = probe.size
            if target is None:
                target = int(np.argmax(probe))
        self.set_param("n_outputs", self._k)
        self.set_param("target", target)

    def _scores(self, batch, n):
        """The model's scores for a batch, checked: (n,) or (n, k)."""
        scores = _as_numpy(self.model(batch))
        k = self._k if self._k is not None else max(scores.size // n, 1)
        if scores.shape != (n, k) and not (k == 1 and scores.shape == (n,)):
            raise ValueError(f"the model returned shape {scores.shape} for a batch of {n} "
                             f"images; expected ({n}, {k})" + (f" or ({n},)" if k == 1 else ""))
        return scores

    def _on_model(self, user, images, n, scores):
        try:
            h, w, c = self._shape
            shape = (n, c, h, w) if self._chw else (n, h, w, c)
            result = self._scores(_floats(images, shape, False), n)
            _floats(scores, (result.size,), True)[:] = result.ravel()
            return 0
        except BaseException as e:  # KeyboardInterrupt too: re-raised after the call
            self._pending = e
            return 1

    def _on_progress(self, user, p):
        try:
            p = p.contents
            info = Progress(p.queries, p.budget, p.generation, p.best_fitness, p.mean_fitness)
            if callable(self.progress):
                return 1 if self.progress(info) else 0
            if self._bar is None:
                self._bar = _progress_bar(info.budget)
            self._bar.update(info.queries - self._bar.n)
            return 0
        except BaseException as e:
            self._pending = e
            return 1

    def _on_log(self, user, level, message):
        try:
            self.log(_LOG_LEVELS[level], message.decode(errors="replace"))
        except BaseException as e:  # reported after the call
            self._pending = self._pending or e

    def _run(self, function, image_ptr, w, h, c, *args, cancelled_map=None):
        """Calls decam_explain or decam_evaluate with the callbacks set; they
        live (and keep self alive) only for the duration of the call."""
        self._shape, self._chw = (h, w, c), self.get_param("layout") == "chw"
        self._pending, self._bar = None, None
        model_cb = _MODEL_FN(self._on_model)
        progress_cb = _PROGRESS_FN(self._on_progress) if self.progress else _PROGRESS_FN()
        log_cb = _LOG_FN(self._on_log) if self.log else _LOG_FN()
        ctx = self._ctx
        _lib.decam_set_model(ctx, model_cb, None)
        _lib.decam_set_progress(ctx, progress_cb, None)
        _lib.decam_set_log(ctx, log_cb, None, self._log_level)
        try:
            status = getattr(_lib, function)(ctx, image_ptr, w, h, c, *args)
            message = _lib.decam_errmsg(ctx).decode(errors="replace")  # before a call clears it
        finally:
            _lib.decam_set_model(ctx, _MODEL_FN(), None)
            _lib.decam_set_progress(ctx, _PROGRESS_FN(), None)
            _lib.decam_set_log(ctx, _LOG_FN(), None, self._log_level)
            if self._bar is not None:
                self._bar.close()
            pending, self._pending, self._bar = self._pending, None, None
        if pending is not None:
            raise pending  # the model's (or a callback's) own exception and traceback
        if status == Status.CANCELLED and cancelled_map is not None:
            raise Cancelled(message, function, cancelled_map)
        if status != Status.OK:
            raise DecamError(status, message, function)


# ---- functions that need no model ---------------------------------------------


def pointing(saliency, truth):
    """The pointing game (1.0 if the map's first maximum lies on the truth)
    and the energy pointing game (share of the positive mass on it)."""
    saliency = np.ascontiguousarray(saliency, dtype=np.float32)
    truth = np.ascontiguousarray(truth, dtype=np.uint8)
    if saliency.shape != truth.shape or saliency.ndim != 2:
        raise ValueError(f"saliency {saliency.shape} and truth {truth.shape} must be equal 2-D")
    hit, energy = _c.c_double(), _c.c_double()
    h, w = saliency.shape
    _check(_lib.decam_pointing(saliency.ctypes.data, truth.ctypes.data, w, h, hit, energy),
           None, "decam_pointing")
    return hit.value, energy.value

def rank_correlation(a, b):
    """Spearman's rank correlation of two maps of the same shape, ties at
    their average rank; 0.0 when either map is constant."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"maps {a.shape} and {b.shape} must have the same shape")
    rho = _c.c_double()
    _check(_lib.decam_rank_correlation(a.ctypes.data, b.ctypes.data, a.size, rho), None,
           "decam_rank_correlation")
    return rho.value

# Image I/O through the library's optional part (decam_io.h). Images are
# (H, W, C) float32 in [0, 1]; byte images (H, W, C) uint8.


class _Ctx:
    """A short-lived context for the I/O functions (they report through one)."""

    def __enter__(self):
        if not hasattr(_lib, "decam_image_load"):
            raise DecamError(Status.UNSUPPORTED, "libdecam was built without image I/O "
                             "(-Dio=disabled)")
        self.ctx = _lib.decam_create()
        if not self.ctx:
            raise MemoryError("decam_create failed")
        return self.ctx

    def __exit__(self, *exc):
        _lib.decam_free(self.ctx)


def load_image(path, channels=3):
    """A PNG or JPEG file as an (H, W, channels) float32 array in [0, 1]."""
    with _Ctx() as ctx:
        pixels, w, h = _c.POINTER(_c.c_float)(), _c.c_int(), _c.c_int()
        _check(_lib.decam_image_load(ctx, os.fsencode(path), channels, pixels, w, h), ctx,
               "decam_image_load")
        try:
            return np.ctypeslib.as_array(pixels, (h.value, w.value, channels)).copy()
        finally:
            _lib.decam_image_free(ctx, pixels)


def resize(image, width, height, area=True):
    """An (H, W, C) float32 image resized to height x width; area=True
    averages when shrinking (no aliasing), else bilinear."""
    image = np.ascontiguousarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    out = np.empty((height, width, image.shape[2]), np.float32)
    with _Ctx() as ctx:
        _check(_lib.decam_image_resize(ctx, image.ctypes.data, image.shape[1], image.shape[0],
                                       image.shape[2], out.ctypes.data, width, height, int(area)),
               ctx, "decam_image_resize")
    return out


_COLORMAPS = ("jet", "turbo", "viridis", "inferno", "gray")


def render_panel(image, saliency, colormap="jet", alpha=0.5, top_fraction=0.15):
    """image | coloured map | overlay, side by side: (H, 3W, 3) uint8.
    top_fraction > 0 outlines that share of the most salient pixels."""
    image = np.ascontiguousarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    saliency = np.ascontiguousarray(saliency, dtype=np.float32)
    h, w, c = image.shape
    if saliency.shape != (h, w):
        raise ValueError(f"saliency has shape {saliency.shape}, the image {(h, w)}")
    panel = np.empty((h, 3 * w, 3), np.uint8)
    with _Ctx() as ctx:
        _check(_lib.decam_render_panel(ctx, image.ctypes.data, w, h, c, saliency.ctypes.data,
                                       _COLORMAPS.index(colormap), alpha, top_fraction,
                                       panel.ctypes.data), ctx, "decam_render_panel")
    return panel


def save_image(path, pixels):
    """Writes (H, W) or (H, W, C) uint8 pixels (C = 1..4) as PNG, or JPEG
    when the name ends in .jpg/.jpeg (C = 1 or 3)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    jpeg = str(path).lower().endswith((".jpg", ".jpeg"))
    h, w, c = pixels.shape
    with _Ctx() as ctx:
        _check(_lib.decam_image_save(ctx, os.fsencode(path), 2 if jpeg else 1,
                                     pixels.ctypes.data, w, h, c), ctx, "decam_image_save")
