"""The binding: libdecam found and loaded with ctypes, its C declarations,
statuses and errors, the parameter and enum tables read from it, and the
results (Progress, Stats, Metrics) as Python values of its structures.
Everything else in the package reaches C through this module."""

import ctypes
import ctypes.util
import dataclasses
import enum
import os
import re
import sysconfig
from pathlib import Path

import numpy as np

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
    "decam_render_colormap": (_I, [_P, _P, _I, _I, _I, _P]),
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
