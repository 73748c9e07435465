"""Metrics of maps that need no model: the pointing games against a
ground-truth mask, and the rank correlation of two maps. (The metrics that
query the model are Explainer.evaluate().)"""

from ._binding import DecamError, Status, _c, _lib
from .inputs import _real_array, _truth_mask


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
