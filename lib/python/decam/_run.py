"""The caller-driven run behind Explainer.explain() and explain_async().

explain() is a generator, `steps()`, that yields what the model must score
and receives its scores: first the probes that find the targets (one model
call per image that needs one), then the requests of decam_ask(), whose
scores go to decam_tell(). A driver calls the model between the two: the
plain call of explain() (`drive`), or an `await` (decam.aio). So one loop,
with no ctypes callback for the model, serves both, and an exception
raised by the model is thrown into the generator, which cancels the C run
(decam_cancel) and lets it go on as it is.

Also the progress bar of progress=True (tqdm, else a line on stderr), which
both this loop and the Explainer's progress callback draw.
"""
import ctypes
import operator
import re
import sys
import warnings

import numpy as np

from ._binding import (LIBRARY_PATH, _HAS_ASK_TELL, _TERMINATIONS, Cancelled, DecamError,
                       Stats, Status, _CItem, _CRequest, _CStats, _floats, _lib)
from .inputs import _is_tensor, _no_bytes, _not_chw, _real_array

_TOP = re.compile(r"top-([0-9]+)")


class Images:
    """The images of one call, as C reads them, and how to answer.

    kind      "one" (an image), "batch" (an (N, ...) array: maps stacked)
              or "list" (a list or tuple of arrays: a list of maps)
    arrays    C-contiguous float32 images in the layout, 3-D
    sizes     (height, width, channels) of each
    device    the torch device of the input, or None for NumPy input: the
              model then receives torch tensors on that device
    """

    def __init__(self, images, chw):
        self.chw = chw
        if isinstance(images, (list, tuple)) and images and all(
                _is_tensor(x) or isinstance(x, np.ndarray) for x in images):
            self.kind = "list"
            parts = list(images)
            names = [f"images[{i}]" for i in range(len(parts))]
        else:
            ndim = images.dim() if _is_tensor(images) else np.ndim(images)
            if ndim == 4:
                self.kind = "batch"
                _no_bytes(images, "the batch of images")
                batch = _real_array(images, "the batch of images", (4,))
                _not_chw(batch.shape, "the batch of images", chw)
                parts = list(batch)  # views of one C-contiguous array
                names = [f"images[{i}]" for i in range(len(parts))]
                self.device = self._device([images])
            elif ndim in (2, 3):
                self.kind, parts, names = "one", [images], ["image"]
            else:
                shape = tuple(images.shape) if hasattr(images, "shape") else np.shape(images)
                raise ValueError("images must have 2 or 3 dimensions (one image: (H, W, C) or "
                                 "(H, W), with layout='chw' (C, H, W)) or 4 (a batch), or be a "
                                 f"list of images; not shape {shape}")
        if self.kind != "batch":
            self.device = self._device(parts)
        self.arrays, self.sizes = [], []
        for part, name in zip(parts, names):
            _no_bytes(part, name)
            array = _real_array(part, name, (2, 3))
            _not_chw(array.shape, name, chw)
            if array.ndim == 2:
                array = array[None] if chw else array[..., None]
            c, h, w = array.shape if chw else (array.shape[2], array.shape[0], array.shape[1])
            self.arrays.append(array)
            self.sizes.append((h, w, c))

    @staticmethod
    def _device(parts):
        tensors = [_is_tensor(p) for p in parts]
        if not any(tensors):
            return None
        if not all(tensors):
            raise ValueError("the images mix torch tensors and other arrays: give all as "
                             "tensors (the model then receives tensors) or none")
        devices = {p.device for p in parts}
        if len(devices) > 1:
            raise ValueError("the images lie on several devices "
                             f"({', '.join(sorted(map(str, devices)))}): move them to one")
        return devices.pop()

    def for_model(self, batch, copy=False):
        return for_model(batch, self.device, copy)

    def call(self, model, batch):
        return call(model, batch, self.device)


def for_model(batch, device, copy=False):
    """What the model receives for a NumPy batch: a read-only view of it,
    or for torch input (device set) a tensor on that device. A tensor
    cannot be read-only, so the caller's image must never be in one: with
    `copy` (the probe, whose batch is the caller's own image) the tensor
    holds a private copy; otherwise (the queries) it is a view of the
    library's buffer on the CPU, no copy, which a model writing in place
    changes for itself alone."""
    if device is None:
        view = batch.view()
        view.flags.writeable = False  # the probe's batch may be the caller's own array
        return view
    import torch
    if copy and device.type == "cpu":
        return torch.from_numpy(np.array(batch, copy=True))
    with warnings.catch_warnings():  # a view of the library's read-only buffer
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        tensor = torch.from_numpy(batch)
    return tensor if device.type == "cpu" else tensor.to(device)


def call(model, batch, device):
    """The model on `batch`; under torch.no_grad() for torch input."""
    if device is None:
        return model(batch)
    import torch
    with torch.no_grad():
        return model(batch)


def _target(value, what):
    """A target: an int-like value (not a float), 0 <= t < 2^32, or an object
    with such a `category` (pytorch-grad-cam's ClassifierOutputTarget). A
    target at or above the model's outputs is left to the library
    (OUT_OF_RANGE)."""
    if type(value).__module__ == "decam.targets":  # a Detection, Similarity or Region
        raise TypeError(f"{what}: a {type(value).__name__} is explained by Explainer.explain() "
                        "and evaluate() only")
    if hasattr(value, "category") and not isinstance(value, (int, np.integer)):
        value = value.category
    if isinstance(value, (float, complex, str, bytes)) or value is None:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}")
    try:
        t = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None
    if not 0 <= t < 2 ** 32:
        raise ValueError(f"{what} = {t} is not an output index (0 or more)")
    return t


def _listed(value):
    """A NumPy array or tensor of targets as (nested) lists, else as it is."""
    if _is_tensor(value):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iu":
            raise TypeError(f"targets must hold integers, not {value.dtype} values")
        return value.item() if value.ndim == 0 else value.tolist()
    return value


def parse_targets(targets, n, kind):
    """Per image, what to explain: None (its top output, found by a probe),
    ("top", k) (its k highest outputs) or a list of target ints; and whether
    the maps keep a K axis. Raises TypeError, ValueError."""
    if targets is None:
        return [None] * n, False
    if isinstance(targets, str):
        m = _TOP.fullmatch(targets.strip().lower())
        if not m:
            raise TypeError(f"target must be an integer, a list or 'top-k' (k = 1, 2, ...), "
                            f"not the string {targets!r}")
        if int(m.group(1)) < 1:
            raise ValueError(f"targets {targets!r}: k must be 1 or more ('top-1', 'top-2', ...)")
        return [("top", int(m.group(1)))] * n, True
    targets = _listed(targets)
    if not isinstance(targets, (list, tuple)):
        return [[_target(targets, "target")]] * n, False
    if len(targets) != n:
        hint = (f"; for several targets of one image give a list of lists, [{list(targets)}]"
                if kind == "one" else "")
        raise ValueError(f"targets has {len(targets)} entries for {n} image"
                         f"{'s' if n != 1 else ''}: give one per image{hint}")
    nested = [isinstance(_listed(t), (list, tuple)) for t in targets]
    if not any(nested):
        return [[_target(t, f"targets[{i}]")] for i, t in enumerate(targets)], False
    if not all(nested):
        raise TypeError("targets mixes integers and lists: give one int per image, or one "
                        "list of ints per image")
    out = []
    for i, ts in enumerate(targets):
        ts = _listed(ts)
        if len(ts) == 0:
            raise ValueError(f"targets[{i}] is empty: give at least one target per image")
        out.append([_target(t, f"targets[{i}][{j}]") for j, t in enumerate(ts)])
    if kind == "batch" and len({len(ts) for ts in out}) > 1:
        raise ValueError("the images of a batch need the same number of targets each (their "
                         "maps form one (N, K, H, W) array); give a list of images instead")
    return out, True


def _resolve(spec, probe, k):
    if spec is None:
        return [int(np.argmax(probe))]
    if isinstance(spec, tuple):
        if spec[1] > k:
            raise ValueError(f"targets 'top-{spec[1]}' asks for more outputs than the model's {k}")
        order = np.argsort(-probe.astype(np.float64).ravel(), kind="stable")
        return [int(t) for t in order[:spec[1]]]
    return spec


def steps(ex, images, targets):
    """The run as a generator: yields what the model scores, receives the
    model's raw result, returns the maps shaped as explain() documents."""
    if not _HAS_ASK_TELL:
        raise DecamError(Status.UNSUPPORTED, f"{LIBRARY_PATH} predates decam_begin() and "
                         "decam_ask() (libdecam 0.3.0), which explain() needs", "explain")
    specs, keep_k = parse_targets(targets, len(images.arrays), images.kind)
    resolved = []
    for i, spec in enumerate(specs):
        if spec is None or isinstance(spec, tuple) or ex._k is None:
            # outside the budget; arrays[i] may be the caller's own memory
            raw = yield images.for_model(images.arrays[i][None], copy=True)
            probe = ex._checked(raw, 1)
            ex._k = probe.size
            resolved.append(_resolve(spec, probe, ex._k))
        else:
            resolved.append(spec)
    ex._set("n_outputs", ex._k)
    ex._set("target", resolved[0][0])
    if ex._closed:  # close() from the model during a probe
        raise Cancelled("the Explainer was closed during the run", "explain", None)
    return (yield from _ask_tell(ex, images, resolved, keep_k))


def _shaped(images, outs, keep_k):
    maps = outs if keep_k else [m[0] for m in outs]
    if images.kind == "one":
        return maps[0]
    if images.kind == "batch":
        return np.stack(maps)
    return maps


def _ask_tell(ex, images, resolved, keep_k):
    n = len(images.arrays)
    items, stats = (_CItem * n)(), (_CStats * n)()
    keep, outs = [], []  # what C points to must live until decam_finish()
    for i, (array, (h, w, c)) in enumerate(zip(images.arrays, images.sizes)):
        t = np.ascontiguousarray(resolved[i], dtype=np.uint32)
        out = np.zeros((len(t), h, w), np.float32)
        stats[i].size = ctypes.sizeof(_CStats)
        items[i] = _CItem(array.ctypes.data, w, h, c, t.ctypes.data, len(t), out.ctypes.data,
                          ctypes.addressof(stats) + i * ctypes.sizeof(_CStats))
        keep.append(t)
        outs.append(out)
    ctx, failure, begun = ex._ctx, None, False
    ex._item_stats, ex._failed = [], False
    with ex._session():
        try:
            _lib.decam_cancel(ctx)  # a run left by an interrupted cleanup, if any
            status, message = ex._c("decam_begin", ctx, items, n)
            if status != Status.OK:
                ex._raise_pending()
                raise DecamError(status, message, "decam_begin")
            begun = True
            rq = _CRequest(size=ctypes.sizeof(_CRequest))
            while not (ex._closed or ex._pending is not None):
                status, message = ex._c("decam_ask", ctx, ctypes.byref(rq))
                if status != Status.OK:
                    failure = (status, message, "decam_ask")
                    break
                if rq.n == 0:
                    break
                shape = ((rq.n, rq.channels, rq.height, rq.width) if images.chw else
                         (rq.n, rq.height, rq.width, rq.channels))
                raw = yield images.for_model(_floats(rq.images, shape, False))
                scores = np.ascontiguousarray(ex._checked(raw, rq.n), dtype=np.float32)
                if ex._closed:  # close() from the model or another thread: no more queries
                    break
                status, message = ex._c("decam_tell", ctx, scores.ctypes.data, rq.n)
                if status != Status.OK:
                    failure = (status, message, "decam_tell")
                    break
            status, message = ex._c("decam_finish", ctx)
            begun = False
            if status == Status.OK and ex._bar is not None:  # the last queries, after
                _show_images(ex._bar, n, n)                  # the last report
                ex._bar.update(max(0, sum(s.queries for s in stats) - ex._bar.n))
        except BaseException:
            if begun:  # the model raised, or a check of its scores did: no map
                _lib.decam_cancel(ctx)
                ex._failed = True
            raise
        finally:
            ex._item_stats = [_item_stats(s) for s in stats]
    ex._raise_pending()
    result = _shaped(images, outs, keep_k)
    if ex._closed:
        raise Cancelled("the Explainer was closed during the run", "explain", result)
    if failure is not None and failure[0] == status:
        status, message, function = failure  # its message, not finish's repetition
    else:
        function = "decam_finish"
    if status == Status.CANCELLED:
        raise Cancelled(message, function, result)
    if status != Status.OK:
        raise DecamError(status, message, function)
    return result


def _item_stats(s):
    values = {f: getattr(s, f) for f in Stats.__dataclass_fields__}
    t = s.termination
    values["termination"] = _TERMINATIONS[t] if 0 <= t < len(_TERMINATIONS) else str(t)
    return Stats(**values)


def drive(gen, call):
    """Runs `gen` to its end, calling call(request) for each of its
    requests; an exception of the call is thrown into it (which cancels
    the run) and so goes on as it is."""
    try:
        request = next(gen)
        while True:
            try:
                result = call(request)
            except BaseException as e:
                gen.throw(e)
                raise AssertionError("unreachable: the run re-raises") from e
            request = gen.send(result)
    except StopIteration as stop:
        return stop.value

# ---- progress on the terminal (progress=True) ----------------------------------


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
