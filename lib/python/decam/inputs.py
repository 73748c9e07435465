"""Input conventions, stated once and enforced everywhere: what an image, a
map, a ground-truth mask, an index or the model's scores may be (NumPy
arrays, lists or torch tensors of real numbers), the one rule for uint8
images, and the (C, H, W) layout a (H, W, C) explainer refuses."""

import operator
import sys

import numpy as np


def _is_tensor(value):
    torch = sys.modules.get("torch")  # a tensor exists only once torch is imported
    return torch is not None and isinstance(value, torch.Tensor)


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
