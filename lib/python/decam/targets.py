"""Targets beyond a classifier's output: detections, embeddings, regions.

As pytorch-grad-cam's `utils/model_targets.py`, each target is a small
object with one job, so the call says what is explained:

    ex = decam.Explainer(detector, detection_layout=layout, budget=500)
    maps = ex.explain(image, targets=[Detection(box_a, label=16),
                                      Detection(box_b, label=1)])   # (2, H, W)

Detection(box, label=None, class_scores=None, objectness=None)
            "why did the detector find this object here" (D-RISE's score:
            the best proposal's IoU with `box` x cosine of its class scores
            with the target's x its objectness); needs a DetectionLayout
Similarity(reference, kind="cosine"|"distance")
            an embedder's output compared with a reference embedding
Region(mask, category)
            a dense (segmentation) output's class `category`, its mean over
            `mask` (2-D, on the model's output grid); needs a DenseLayout

Plain ints (and objects with an int `.category`, such as grad-cam's
ClassifierOutputTarget) stay output indices, handled as before. A call
takes targets of one kind. Behind explain() and evaluate() the objects
become a scorer of the C library (decam.h section 10): it is installed
before the call, with n_outputs set from the layout, and removed
afterwards (decam_score_outputs), n_outputs back to what it was.
"""
import contextlib
import ctypes
import dataclasses
import numbers

import numpy as np

from ._binding import DecamError, Status, _check, _lib
from .inputs import _real_array

__all__ = ["Detection", "Similarity", "Region", "DetectionLayout", "DenseLayout"]

_BOX_FORMATS = ("xyxy", "cxcywh", "xywh")  # decam_box
_ORDERS = ("hwc", "chw")  # decam_layout
_KINDS = ("cosine", "distance")  # decam_similarity


class _CDetectionLayout(ctypes.Structure):  # decam_detection_layout
    _fields_ = [("size", ctypes.c_size_t), ("proposals", ctypes.c_uint32),
                ("stride", ctypes.c_uint32), ("box_format", ctypes.c_int32),
                ("normalised", ctypes.c_int32), ("box_offset", ctypes.c_uint32),
                ("objectness", ctypes.c_int32), ("class_offset", ctypes.c_uint32),
                ("classes", ctypes.c_uint32)]


class _CDenseLayout(ctypes.Structure):  # decam_dense_layout
    _fields_ = [("size", ctypes.c_size_t), ("width", ctypes.c_int32),
                ("height", ctypes.c_int32), ("classes", ctypes.c_int32),
                ("layout", ctypes.c_int32)]


# ---- layouts ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DetectionLayout:
    """What a detector writes per image: `proposals` rows of `stride` floats
    (the model returns (n, proposals * stride) or (n, proposals, stride)),
    each a box of four floats from `box_offset` in `box_format` ("xyxy",
    "cxcywh" or "xywh"; in pixels of the image, or with `normalised`
    fractions of its width and height), an objectness at index
    `objectness` (None: the model has none) and `classes` class scores
    from `class_offset`. A darknet or YOLOv5 head is
    DetectionLayout(P, 85, "cxcywh", True, 0, 4, 5, 80)."""
    proposals: int
    stride: int
    box_format: str = "xyxy"
    normalised: bool = False
    box_offset: int = 0
    objectness: object = None
    class_offset: int = 4
    classes: int = 1

    @property
    def n_outputs(self):
        return self.proposals * self.stride

    def _c(self):
        if self.box_format not in _BOX_FORMATS:
            raise ValueError(f"box_format {self.box_format!r} is not one of "
                             f"{', '.join(_BOX_FORMATS)}")
        return _CDetectionLayout(ctypes.sizeof(_CDetectionLayout), self.proposals, self.stride,
                                 _BOX_FORMATS.index(self.box_format), int(bool(self.normalised)),
                                 self.box_offset,
                                 -1 if self.objectness is None else self.objectness,
                                 self.class_offset, self.classes)


@dataclasses.dataclass(frozen=True)
class DenseLayout:
    """What a dense model (a segmenter) writes per image: `classes` maps of
    `width` x `height` (its output grid, any size), "chw" (class-major) or
    "hwc" (class fastest)."""
    width: int
    height: int
    classes: int
    order: str = "chw"

    @property
    def n_outputs(self):
        return self.width * self.height * self.classes

    def _c(self):
        if self.order not in _ORDERS:
            raise ValueError(f"order {self.order!r} is not one of {', '.join(_ORDERS)}")
        return _CDenseLayout(ctypes.sizeof(_CDenseLayout), self.width, self.height,
                             self.classes, _ORDERS.index(self.order))


def _layout(value, cls, what):
    """A layout from a dataclass, a dict of its fields or a tuple of them."""
    if value is None or isinstance(value, cls):
        return value
    if isinstance(value, dict):
        return cls(**value)
    if isinstance(value, (list, tuple)):
        return cls(*value)
    raise TypeError(f"{what} must be a {cls.__name__}, a dict or a tuple, not "
                    f"{type(value).__name__}")


# ---- targets ---------------------------------------------------------------------


class Detection:
    """A detection to explain: `box` (x0, y0, x1, y1 in pixels of the image
    explained) and its class, as `label` (an int: a one-hot class vector)
    or `class_scores` (the detection's vector of class scores, which
    D-RISE compares by cosine; used when both are given). `objectness` is
    for the record (detect() fills it; overlay() can show it)."""

    def __init__(self, box, label=None, class_scores=None, objectness=None):
        box = np.asarray(box, np.float64).reshape(-1)
        if box.size != 4 or not np.isfinite(box).all():
            raise ValueError(f"a Detection's box is four finite numbers x0, y0, x1, y1, not "
                             f"{box.tolist()}")
        if not (box[2] > box[0] and box[3] > box[1]):
            raise ValueError(f"the box {box.tolist()} has no area (x1 > x0, y1 > y0)")
        if label is None and class_scores is None:
            raise ValueError("a Detection needs a label or class_scores")
        if label is not None:
            if isinstance(label, (bool, float)) or not isinstance(label, numbers.Integral):
                raise TypeError(f"label must be an int, not {type(label).__name__}")
            if label < 0:
                raise ValueError(f"label = {label} is negative")
            label = int(label)
        if class_scores is not None:
            class_scores = _real_array(class_scores, "class_scores", (1,)).copy()
        self.box, self.label, self.class_scores = tuple(float(v) for v in box), label, \
            class_scores
        self.objectness = None if objectness is None else float(objectness)

    def mask(self, height, width):
        """The box as an (height, width) bool mask: the pixels whose centre
        lies inside it (the pointing game's truth when none is given)."""
        x0, y0, x1, y1 = self.box
        xs, ys = np.arange(width) + 0.5, np.arange(height) + 0.5
        return ((ys >= y0) & (ys <= y1))[:, None] & ((xs >= x0) & (xs <= x1))[None, :]

    def __repr__(self):
        what = f"label={self.label}" if self.label is not None else "class_scores=..."
        box = ", ".join(f"{v:g}" for v in self.box)
        obj = "" if self.objectness is None else f", objectness={self.objectness:.3g}"
        return f"Detection(({box}), {what}{obj})"


class Similarity:
    """An embedding's similarity to `reference` (a 1-D vector as long as the
    model's output): kind "cosine" (in [-1, 1]) or "distance" (minus the
    Euclidean distance)."""

    def __init__(self, reference, kind="cosine"):
        if kind not in _KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(_KINDS)}")
        self.reference = _real_array(reference, "reference", (1, 2)).reshape(-1).copy()
        self.kind = kind

    def __repr__(self):
        return f"Similarity(<{self.reference.size} floats>, kind={self.kind!r})"


class Region:
    """Class `category` of a dense output, its mean over `mask` (2-D, bool or
    0/1, on the model's output grid: (height, width) of the DenseLayout),
    as grad-cam's SemanticSegmentationTarget."""

    def __init__(self, mask, category):
        mask = np.asarray(mask)
        if mask.ndim != 2 or mask.dtype.kind not in "biuf":
            raise ValueError(f"a Region's mask is a 2-D bool or 0/1 array, not {mask.dtype} "
                             f"of shape {mask.shape}")
        if isinstance(category, (bool, float)) or not isinstance(category, numbers.Integral) \
                or category < 0:
            raise TypeError(f"category must be an int >= 0, not {category!r}")
        self.mask, self.category = np.ascontiguousarray(mask != 0, np.uint8), int(category)

    def __repr__(self):
        return f"Region(<{self.mask.shape[0]} x {self.mask.shape[1]} mask>, {self.category})"


_TARGET_KINDS = (Detection, Similarity, Region)


def is_object(value):
    """Whether `value` is one of these target objects."""
    return isinstance(value, _TARGET_KINDS)


def _flat(targets):
    """Every element of targets (one, a list, or a list of lists)."""
    if isinstance(targets, (list, tuple)):
        for t in targets:
            yield from _flat(t)
    else:
        yield targets


def has_objects(targets):
    """Whether targets holds any target object (then every element must be
    one, of one kind)."""
    if is_object(targets):
        return True
    if not isinstance(targets, (list, tuple)):
        return False
    return any(is_object(t) for t in _flat(targets))


def _kind(targets):
    kinds = {type(t) for t in _flat(targets)}
    if len(kinds) > 1 or not kinds <= set(_TARGET_KINDS):
        names = ", ".join(sorted(k.__name__ for k in kinds))
        raise TypeError(f"the targets of one call must be of one kind (Detection, Similarity, "
                        f"Region or output indices), not a mix of {names}")
    return kinds.pop()


# ---- installing a scorer -----------------------------------------------------------


def _table(kind, table, ex, detection_layout, dense_layout):
    """Installs the scorer of `table` (target objects of `kind`) on ex's
    context; returns n_outputs."""
    ctx = ex._ctx
    if kind is Detection:
        layout = _layout(detection_layout if detection_layout is not None
                         else ex.detection_layout, DetectionLayout, "detection_layout")
        if layout is None:
            raise ValueError("Detection targets need the model's detection_layout= (to "
                             "Explainer() or to the call): proposals, stride, box format, ...")
        boxes = np.ascontiguousarray([d.box for d in table], np.float32)
        labels = scores = None
        if all(d.class_scores is None for d in table):
            labels = np.ascontiguousarray([d.label for d in table], np.int32)
        else:
            scores = np.zeros((len(table), layout.classes), np.float32)
            for i, d in enumerate(table):
                if d.class_scores is not None:
                    if d.class_scores.size != layout.classes:
                        raise ValueError(f"a Detection has {d.class_scores.size} class scores; "
                                         f"the layout has {layout.classes} classes")
                    scores[i] = d.class_scores
                elif d.label < layout.classes:
                    scores[i, d.label] = 1
                else:
                    raise ValueError(f"label {d.label} is at or beyond the layout's "
                                     f"{layout.classes} classes")
        c = layout._c()
        st = _lib.decam_score_detections(ctx, ctypes.addressof(c), boxes.ctypes.data,
                                         None if labels is None else labels.ctypes.data,
                                         None if scores is None else scores.ctypes.data,
                                         len(table))
        _check(st, ctx, "decam_score_detections")
        return layout.n_outputs
    if kind is Similarity:
        dims, kinds = {s.reference.size for s in table}, {s.kind for s in table}
        if len(dims) > 1 or len(kinds) > 1:
            raise ValueError("the Similarity targets of one call need references of one "
                             f"length and one kind, not lengths {sorted(dims)} and kinds "
                             f"{sorted(kinds)}")
        refs = np.ascontiguousarray([s.reference for s in table], np.float32)
        st = _lib.decam_score_similarity(ctx, _KINDS.index(kinds.pop()), refs.ctypes.data,
                                         refs.shape[1], len(table))
        _check(st, ctx, "decam_score_similarity")
        return refs.shape[1]
    layout = _layout(dense_layout if dense_layout is not None else ex.dense_layout,
                     DenseLayout, "dense_layout")
    if layout is None:
        raise ValueError("Region targets need the model's dense_layout= (to Explainer() or "
                         "to the call): width, height, classes, order")
    for r in table:
        if r.mask.shape != (layout.height, layout.width):
            raise ValueError(f"a Region's mask has shape {r.mask.shape}; the output grid is "
                             f"{(layout.height, layout.width)} (height, width)")
    masks = np.ascontiguousarray([r.mask for r in table], np.uint8)
    classes = np.ascontiguousarray([r.category for r in table], np.uint32)
    c = layout._c()
    st = _lib.decam_score_regions(ctx, ctypes.addressof(c), classes.ctypes.data,
                                  masks.ctypes.data, len(table))
    _check(st, ctx, "decam_score_regions")
    return layout.n_outputs


def _flattening(model, kind):
    """The model, its (n, P, stride) output (a detector's; or a list of
    such arrays, concatenated along the proposals) as (n, P * stride)."""
    def flat(batch):
        out = model(batch)
        if kind is Detection and isinstance(out, (list, tuple)) and out and \
                all(hasattr(o, "shape") and len(o.shape) >= 2 for o in out):
            n = out[0].shape[0]
            parts = [o.reshape(n, -1) for o in out]
            if all(isinstance(p, np.ndarray) for p in parts):
                return np.concatenate(parts, axis=1)
            import torch
            return torch.cat([torch.as_tensor(p) for p in parts], dim=1)
        if hasattr(out, "shape") and len(out.shape) > 2:
            return out.reshape(out.shape[0], -1)
        return out
    return flat


@contextlib.contextmanager
def scoring(ex, kind, table, detection_layout=None, dense_layout=None):
    """The scorer of `table` installed on ex for a call, n_outputs set from
    it and the model's output flattened; afterwards the outputs scorer and
    n_outputs as they were."""
    ex._idle("explain")
    previous_k, previous_n = ex._k, ex._get("n_outputs")
    model = ex.model
    try:
        n_outputs = _table(kind, table, ex, detection_layout, dense_layout)
        ex._set("n_outputs", n_outputs)
        ex.model = _flattening(model, kind)
        yield
    finally:
        ex.model = model
        st = _lib.decam_score_outputs(ex._ctx) if ex._ctx else Status.OK
        if ex._ctx:
            ex._set("n_outputs", previous_n)
        ex._k = previous_k
        if st != Status.OK:
            raise DecamError(st, "could not go back to the outputs scorer",
                             "decam_score_outputs")


def explain(ex, images, targets, detection_layout=None, dense_layout=None):
    """Explainer.explain() with target objects: the table of every image's
    targets as one scorer, each image's targets indices into it."""
    from . import _run
    kind = _kind(targets)
    parts = _run.Images(images, ex._get("layout") == "chw")
    n = len(parts.arrays)
    table, index = [], {}

    def add(t):
        if id(t) not in index:
            index[id(t)] = len(table)
            table.append(t)
        return index[id(t)]

    if is_object(targets):  # one target for every image
        indices = add(targets)
    elif parts.kind == "one" and all(is_object(t) for t in targets):
        indices = [[add(t) for t in targets]]  # one image's several targets: (K, H, W)
    else:
        if len(targets) != n:
            raise ValueError(f"targets has {len(targets)} entries for {n} images: give one "
                             "target, or one list of targets, per image")
        indices = [[add(x) for x in t] if isinstance(t, (list, tuple)) else add(t)
                   for t in targets]
        if any(isinstance(t, list) for t in indices) and \
                not all(isinstance(t, list) for t in indices):
            raise TypeError("targets mixes target objects and lists: give one per image, or "
                            "one list per image")
    with scoring(ex, kind, table, detection_layout, dense_layout):
        return ex.explain(images, indices)


def evaluate(ex, image, saliency, truth, target, detection_layout=None, dense_layout=None):
    """Explainer.evaluate() with a target object: its score's deletion and
    insertion; for a Detection without `truth`, the pointing games
    against its box."""
    if truth is None and isinstance(target, Detection):
        h, w = np.shape(saliency)[:2]
        truth = target.mask(h, w)
    with scoring(ex, type(target), [target], detection_layout, dense_layout):
        return ex.evaluate(image, saliency, truth, target=0)
