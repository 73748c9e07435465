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
message; arguments that C would misread (wrong dtype, shape, NaN, a NUL in
a path) raise TypeError or ValueError before reaching it; an exception
raised in a callback (Ctrl-C included) is re-raised as it is.
"""

import contextlib
import ctypes
import ctypes.util
import dataclasses
import difflib
import enum
import numbers
import operator
import os
import re
import signal
import sys
import sysconfig
import threading
from pathlib import Path

import numpy as np

__all__ = ["Explainer", "DecamError", "Cancelled", "Status", "Stats", "Metrics", "Progress",
           "PARAMS", "version", "pointing", "rank_correlation", "load_image", "resize",
           "render_panel", "save_image", "overlay", "quantus_explain", "LIBRARY_PATH",
           "Detection", "Similarity", "Region", "DetectionLayout", "DenseLayout"]

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
_SCORE_FN = _c.CFUNCTYPE(_c.c_int, _c.c_void_p, _c.c_void_p, _c.c_size_t, _c.c_uint32,
                         _c.POINTER(_c.c_double))


class _CProgress(_c.Structure):
    _fields_ = [("size", _c.c_size_t), ("queries", _c.c_uint64), ("budget", _c.c_uint64),
                ("generation", _c.c_uint32), ("best_fitness", _c.c_double),
                ("mean_fitness", _c.c_double),
                # appended in 0.3.0: read only when `size` covers them
                ("item", _c.c_uint32), ("items", _c.c_uint32), ("items_done", _c.c_uint32)]


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


class _CItem(_c.Structure):  # decam_item
    _fields_ = [("image", _c.c_void_p), ("width", _c.c_int), ("height", _c.c_int),
                ("channels", _c.c_int), ("targets", _c.c_void_p), ("n_targets", _c.c_size_t),
                ("saliency_out", _c.c_void_p), ("stats", _c.c_void_p)]


class _CRequest(_c.Structure):  # decam_request
    _fields_ = [("size", _c.c_size_t), ("images", _c.c_void_p), ("n", _c.c_size_t),
                ("width", _c.c_int), ("height", _c.c_int), ("channels", _c.c_int),
                ("n_outputs", _c.c_size_t)]


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
    # section 8: several images and targets, the caller-driven run (0.3.0)
    "decam_explain_items": (_I, [_P, _P, _S]),
    "decam_begin": (_I, [_P, _P, _S]),
    "decam_ask": (_I, [_P, _c.POINTER(_CRequest)]),
    "decam_tell": (_I, [_P, _P, _S]),
    "decam_finish": (_I, [_P]),
    "decam_cancel": (None, [_P]),
    "decam_item_size": (_S, []),
    "decam_request_size": (_S, []),
    # section 10: scorers (layouts are passed by address); targets.py uses them
    "decam_score_outputs": (_I, [_P]),
    "decam_score_detections": (_I, [_P, _P, _P, _P, _P, _S]),
    "decam_score_similarity": (_I, [_P, _I, _P, _S, _S]),
    "decam_score_regions": (_I, [_P, _P, _P, _P, _S]),
    "decam_score_with": (_I, [_P, _SCORE_FN, _P, _S]),
    "decam_get_scorer": (_I, [_P]),
    "decam_scorer_targets": (_S, [_P]),
    # the optional I/O part (decam_io.h); absent from a -Dio=disabled build
    "decam_image_load": (_I, [_P, _c.c_char_p, _I, _c.POINTER(_c.POINTER(_c.c_float)),
                              _c.POINTER(_I), _c.POINTER(_I)]),
    "decam_image_free": (None, [_P, _P]),
    "decam_image_resize": (_I, [_P, _P, _I, _I, _I, _P, _I, _I, _I]),
    "decam_render_panel": (_I, [_P, _P, _I, _I, _I, _P, _I, _c.c_float, _c.c_float, _P]),
    "decam_image_save": (_I, [_P, _c.c_char_p, _I, _P, _I, _I, _I]),
    "decam_image_to_bytes": (_I, [_P, _P, _I, _I, _I, _P]),
    "decam_max_image_side": (_I, []),
    "decam_max_image_values": (_S, []),
}
for _name, (_res, _args) in _PROTOTYPES.items():
    if hasattr(_lib, _name):
        _f = getattr(_lib, _name)
        _f.restype, _f.argtypes = _res, _args

# The size every library this binding can use has at least (the progress
# fields appended in 0.3.0 are read only when the library's struct has them).
_PROGRESS_0_2 = _CProgress.item.offset
_HAS_ASK_TELL = hasattr(_lib, "decam_begin")
_SIZES = [(_CProgress, _lib.decam_progress_size(), _PROGRESS_0_2),
          (_CStats, _lib.decam_stats_size(), ctypes.sizeof(_CStats)),
          (_CMetrics, _lib.decam_metrics_size(), ctypes.sizeof(_CMetrics))]
if _HAS_ASK_TELL:
    _SIZES += [(_CItem, _lib.decam_item_size(), ctypes.sizeof(_CItem)),
               (_CRequest, _lib.decam_request_size(), ctypes.sizeof(_CRequest))]
for _struct, _size, _needed in _SIZES:
    if _size < _needed:  # fields are only ever appended
        raise ImportError(f"decam: {LIBRARY_PATH} is older than this binding "
                          f"({_struct.__name__[2:]} is {_size} bytes, expected "
                          f">= {_needed})")
if _HAS_ASK_TELL and _lib.decam_item_size() != ctypes.sizeof(_CItem):
    # arrays of items cross the API, with no size field: the layout must match
    raise ImportError(f"decam: {LIBRARY_PATH} has a decam_item of {_lib.decam_item_size()} "
                      f"bytes; this binding's is {ctypes.sizeof(_CItem)}")

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
        # The library's messages start with the function that failed
        # ("decam_begin: items[0]..."): that name leads, said once.
        own = re.match(r"(decam_\w+): ", message)
        if own:
            function, message = own.group(1), message[own.end():]
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
    """After every step of a run: the queries of all its images so far and
    the run's budget (the budget parameter times the images), the
    generations of the image of this step (`item`, 0-based, of `items`),
    and how many images are complete."""
    queries: int
    budget: int
    generation: int
    best_fitness: float
    mean_fitness: float
    item: int = 0
    items: int = 1
    items_done: int = 0


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


def _real_array(value, what, ndims):
    """`value` as a C-contiguous float32 array with one of `ndims`
    dimensions (None: any), every value finite: TypeError for anything but real
    numbers (bool, integers, floats), ValueError for a wrong number of
    dimensions, an empty array, NaN or infinity (also values beyond
    float32's range)."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold real numbers, not {array.dtype} values")
    if ndims is not None and array.ndim not in ndims:
        raise ValueError(f"{what} must have {' or '.join(map(str, ndims))} dimensions, "
                         f"not shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{what} is empty (shape {array.shape})")
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(out).all():
        beyond = " (values beyond float32's range)" if np.isfinite(array).all() else ""
        raise ValueError(f"{what} holds NaN or infinite values{beyond}")
    return out


def _is_uint8(value):
    """A uint8 array or tensor (bytes: 0..255 stands for [0, 1])."""
    return str(getattr(value, "dtype", "")) in ("uint8", "torch.uint8")


def _no_bytes(value, what):
    """The one rule for uint8 images: bytes, 0..255 standing for [0, 1].
    The model's pixel values are the caller's to choose, so explain() and
    evaluate() refuse them rather than guess (render_panel() and overlay(),
    which only draw, convert them: v / 255)."""
    if _is_uint8(value):
        raise TypeError(f"{what} is uint8 (bytes): the model's pixel values are yours to "
                        "choose, so give floats: image.astype(np.float32) / 255 for [0, 1] "
                        "(as load_image() gives), or image.astype(np.float32) for 0..255")


def _not_chw(shape, what, chw):
    """ValueError for an image (or batch) given in (C, H, W) to an explainer
    that reads (H, W, C): C in 1, 3, 4 first and both sides above 4."""
    image = tuple(shape[-3:])
    if chw or len(image) != 3 or image[0] not in (1, 3, 4) or min(image[1:]) <= 4:
        return
    batch = len(shape) == 4
    raise ValueError(f"{what} has shape {tuple(shape)}, which looks like "
                     f"({'N, ' if batch else ''}C, H, W), but this Explainer reads "
                     f"({'N, ' if batch else ''}H, W, C): make it with layout='chw' "
                     "(decam.Explainer(model, layout='chw')), or transpose the image"
                     f"{'s' if batch else ''} (a NumPy array: .transpose("
                     f"{'0, 2, 3, 1' if batch else '1, 2, 0'}); a tensor: .permute("
                     f"{'0, 2, 3, 1' if batch else '1, 2, 0'}))")


def _truth_mask(truth):
    """A ground-truth mask: any 2-D array of real numbers (or bools), nonzero
    on the object, as C-contiguous bytes 0/1."""
    if hasattr(truth, "detach"):
        truth = truth.detach().cpu().numpy()
    array = np.asarray(truth)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"truth must hold real numbers or bools, not {array.dtype} values")
    if array.ndim != 2:
        raise ValueError(f"truth must have 2 dimensions, not shape {array.shape}")
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise ValueError("truth holds NaN values (nonzero marks the object)")
    return np.ascontiguousarray(array != 0, dtype=np.uint8)


def _index(value, what):
    """An int from an int-like value (TypeError for 2.5 or "2")."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None


def _as_numpy(scores):
    if hasattr(scores, "detach"):  # a torch tensor, even one that requires grad
        scores = scores.detach().cpu().numpy()
    scores = np.asarray(scores)
    if scores.dtype.kind not in "biuf":
        raise TypeError(f"the model returned {scores.dtype} scores; expected real numbers")
    with np.errstate(over="ignore", invalid="ignore"):
        out = scores.astype(np.float32, copy=False)
    beyond = np.isfinite(scores) & ~np.isfinite(out)
    if beyond.any():  # the C ABI takes float32: this would reach it as infinity
        value = scores[beyond].flat[0]
        raise ValueError(f"the model returned the score {value!r}: finite, but beyond "
                         f"float32's range (+-{float(np.finfo(np.float32).max):.4g}), which "
                         "the library's scores have; return probabilities, or rescale the "
                         "scores")
    return out


class _TextBar:
    """Progress on stderr, one line redrawn; used when tqdm is not installed."""

    def __init__(self, total, items=1):
        self.total, self.n, self.images = total, 0, (0, items)

    def update(self, k):
        self.n += k
        done, items = self.images
        sys.stderr.write(f"\rdecam: {self.n}/{self.total} queries" +
                         (f", {done}/{items} images" if items > 1 else ""))
        sys.stderr.flush()

    def close(self):
        sys.stderr.write("\n")


def _progress_bar(total, items=1):
    """A bar over the queries of all the images of a run (tqdm, else text)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _TextBar(total, items)
    return tqdm(total=total, unit="query", desc="decam" if items == 1 else f"decam, {items} images")


def _show_images(bar, done, items):
    if isinstance(bar, _TextBar):
        bar.images = (done, items)
    elif hasattr(bar, "set_postfix_str"):
        bar.set_postfix_str(f"{done}/{items} images done", refresh=False)

# ---- the explainer --------------------------------------------------------------


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


# ---- functions that need no model ---------------------------------------------


def _check_pure(status, function, what):
    """For the functions that need no context, and so leave no message:
    `what` says what the library checks beyond what was checked here."""
    if status != Status.OK:
        if status == Status.OUT_OF_MEMORY:
            what = "its working memory could not be allocated"
        raise DecamError(status, what, function)


def pointing(saliency, truth):
    """The pointing game (1.0 if the map's first maximum lies on the truth)
    and the energy pointing game (share of the positive mass on it).
    saliency: 2-D finite real numbers; truth: the same shape, nonzero on
    the object."""
    saliency = _real_array(saliency, "saliency", (2,))
    truth = _truth_mask(truth)
    if saliency.shape != truth.shape:
        raise ValueError(f"saliency {saliency.shape} and truth {truth.shape} must have the "
                         "same shape")
    hit, energy = _c.c_double(), _c.c_double()
    h, w = saliency.shape
    _check_pure(_lib.decam_pointing(saliency.ctypes.data, truth.ctypes.data, w, h, hit, energy),
                "decam_pointing", f"a {w} x {h} map is outside the size limits (sides at most "
                f"{_lib.decam_max_image_side()})")
    return hit.value, energy.value


def rank_correlation(a, b):
    """Spearman's rank correlation of two maps of the same shape (finite real
    numbers, at least 2 values), ties at their average rank; 0.0 when either
    map is constant."""
    a = _real_array(a, "the first map", None)
    b = _real_array(b, "the second map", None)
    if a.shape != b.shape:
        raise ValueError(f"maps {a.shape} and {b.shape} must have the same shape")
    if a.size < 2:
        raise ValueError(f"maps of {a.size} value have no rank correlation (at least 2 needed)")
    rho = _c.c_double()
    _check_pure(_lib.decam_rank_correlation(a.ctypes.data, b.ctypes.data, a.size, rho),
                "decam_rank_correlation", f"maps of {a.size} values were refused")
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


def _path(path):
    """A path (str, bytes or os.PathLike) as bytes for C; ValueError for a NUL
    in it, which C would take for the end of the path."""
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise ValueError(f"the path {path!r} contains a NUL character")
    return encoded


def load_image(path, channels=3):
    """A PNG or JPEG file as an (H, W, channels) float32 array in [0, 1]."""
    path, channels = _path(path), _index(channels, "channels")
    with _Ctx() as ctx:
        pixels, w, h = _c.POINTER(_c.c_float)(), _c.c_int(), _c.c_int()
        _check(_lib.decam_image_load(ctx, path, channels, pixels, w, h), ctx,
               "decam_image_load")
        try:
            return np.ctypeslib.as_array(pixels, (h.value, w.value, channels)).copy()
        finally:
            _lib.decam_image_free(ctx, pixels)


def _image_hwc(image, what="image"):
    image = _real_array(image, what, (2, 3))
    return image[..., None] if image.ndim == 2 else image


def resize(image, width, height, area=True):
    """An (H, W, C) float32 image resized to height x width; area=True
    averages when shrinking (no aliasing), else bilinear."""
    image = _image_hwc(image)
    width, height = _index(width, "width"), _index(height, "height")
    side = _lib.decam_max_image_side()
    if not (1 <= width <= side and 1 <= height <= side):
        raise ValueError(f"resize to {width} x {height}: sides must lie in [1, {side}]")
    if width * height * image.shape[2] > _lib.decam_max_image_values():
        raise DecamError(Status.TOO_LARGE, f"{width} x {height} x {image.shape[2]} values are "
                         f"more than {_lib.decam_max_image_values()}", "resize")
    out = np.empty((height, width, image.shape[2]), np.float32)
    with _Ctx() as ctx:
        _check(_lib.decam_image_resize(ctx, image.ctypes.data, image.shape[1], image.shape[0],
                                       image.shape[2], out.ctypes.data, width, height,
                                       int(bool(area))), ctx, "decam_image_resize")
    return out


_COLORMAPS = ("jet", "turbo", "viridis", "inferno", "gray")


def render_panel(image, saliency, colormap="jet", alpha=0.5, top_fraction=0.15):
    """image | coloured map | overlay, side by side: (H, 3W, 3) uint8.
    The image is (H, W, C) floats in [0, 1], or uint8 bytes (v / 255, as
    overlay() reads them). top_fraction > 0 outlines that share of the most
    salient pixels."""
    if _is_uint8(image):  # bytes, as overlay() and save_image() read them
        image = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image)
        image = image.astype(np.float32) / 255
    image = _image_hwc(image)
    saliency = _real_array(saliency, "saliency", (2,))
    h, w, c = image.shape
    if saliency.shape != (h, w):
        raise ValueError(f"saliency has shape {saliency.shape}, the image {(h, w)}")
    if colormap not in _COLORMAPS:
        raise ValueError(f"colormap {colormap!r} is not one of {', '.join(_COLORMAPS)}")
    for name, value in (("alpha", alpha), ("top_fraction", top_fraction)):
        if not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    panel = np.empty((h, 3 * w, 3), np.uint8)
    with _Ctx() as ctx:
        _check(_lib.decam_render_panel(ctx, image.ctypes.data, w, h, c, saliency.ctypes.data,
                                       _COLORMAPS.index(colormap), float(alpha),
                                       float(top_fraction), panel.ctypes.data),
               ctx, "decam_render_panel")
    return panel


def _image_bytes(pixels, ctx):
    """Pixels to save as (H, W, C) C-contiguous uint8: uint8 as they are;
    other integers when in 0..255; floats in [0, 1] as the renderer converts
    them (round(255 v), halves up). Others raise TypeError, values outside
    raise ValueError: the same image either way, never a black one."""
    if hasattr(pixels, "detach"):
        pixels = pixels.detach().cpu().numpy()
    array = np.asarray(pixels)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"save_image takes uint8 pixels (0..255) or float pixels in [0, 1], "
                        f"not {array.dtype} values")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(f"pixels must have 2 or 3 dimensions, not shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"pixels is empty (shape {array.shape})")
    if array.dtype.kind in "iu":
        if array.dtype != np.uint8 and (array.min() < 0 or array.max() > 255):
            raise ValueError(f"integer pixels must lie in 0..255, not {array.min()}.."
                             f"{array.max()}")
        return np.ascontiguousarray(array, dtype=np.uint8)
    floats = np.ascontiguousarray(array, dtype=np.float32)
    # accepted when round(255 v) lies in 0..255, so rounding errors pass
    if not np.isfinite(floats).all():
        raise ValueError("float pixels must be finite and lie in [0, 1]; some are NaN or "
                         "infinite")
    if floats.min() < -0.5 / 255 or floats.max() >= 255.5 / 255:
        raise ValueError(f"float pixels must lie in [0, 1], not {floats.min()}.."
                         f"{floats.max()} (bytes 0..255 go as uint8)")
    h, w, c = floats.shape
    out = np.empty((h, w, c), np.uint8)
    _check(_lib.decam_image_to_bytes(ctx, floats.ctypes.data, w, h, c, out.ctypes.data), ctx,
           "decam_image_to_bytes")
    return out


def save_image(path, pixels):
    """Writes (H, W) or (H, W, C) pixels (C = 1..4) as PNG, or JPEG when the
    name ends in .jpg/.jpeg (C = 1 or 3). Pixels are uint8 (or other
    integers in 0..255), or floats in [0, 1] such as load_image() gives."""
    encoded = _path(path)
    jpeg = encoded.lower().endswith((b".jpg", b".jpeg"))
    with _Ctx() as ctx:
        pixels = _image_bytes(pixels, ctx)
        h, w, c = pixels.shape
        _check(_lib.decam_image_save(ctx, encoded, 2 if jpeg else 1, pixels.ctypes.data, w, h,
                                     c), ctx, "decam_image_save")


# The parts built on the above (they import from this module).
from . import _run, aio  # noqa: E402
from .adapters import overlay, quantus_explain  # noqa: E402
from . import targets as targets_  # noqa: E402
from .targets import Detection, DenseLayout, DetectionLayout, Region, Similarity  # noqa: E402
