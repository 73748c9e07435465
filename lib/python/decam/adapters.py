"""Adapters to the conventions of other tools.

overlay()          a map over its image, as pytorch-grad-cam's
                   show_cam_on_image() draws it
quantus_explain()  an `explain_func` for Quantus's metrics
"""
import numbers

import numpy as np

from ._binding import DecamError, Status, _check, _lib
from .explainer import Explainer
from .inputs import _is_tensor, _real_array
from .render import _COLORMAPS, _Ctx


def overlay(image, saliency, image_weight=0.5, colormap="jet", box=None, boxes=None,
            box_color=(0, 255, 0)):
    """The map drawn over its image, as pytorch-grad-cam's
    show_cam_on_image(img, mask, use_rgb=True, image_weight=...) draws it:
    the map through the colormap, blended with the image,
    (1 - image_weight) * colour + image_weight * image, scaled so that its
    largest value is 1. Returns (H, W, 3) uint8 RGB.

    image         (H, W, 3) or (H, W) (or (H, W, 1)), RGB floats in [0, 1]
                  or uint8 0..255 (NumPy, list or CPU tensor)
    saliency      (H, W) finite numbers; clamped to [0, 1] as the colormap
                  reads it (explain() gives maps in [0, 1])
    image_weight  in [0, 1]: 0 the coloured map alone, 1 the image alone
    colormap      one of "jet", "turbo", "viridis", "inferno", "gray": the
                  library's tables (matplotlib's jet, not OpenCV's, which
                  pytorch-grad-cam uses: the colours differ slightly)

    box, boxes   a box (x0, y0, x1, y1 in pixels, or a Detection), or a
                  list of them: each drawn as a 2-pixel outline in
                  `box_color` (RGB bytes, default green) over the overlay

    Bytes are round(255 v), where pytorch-grad-cam truncates. Needs the
    library's I/O part (DecamError(UNSUPPORTED) without it). Raises
    TypeError and ValueError for wrong kinds, shapes and ranges."""
    if _is_tensor(image):
        image = image.detach().cpu().numpy()
    raw = np.asarray(image)
    if raw.dtype.kind not in "uif":
        raise TypeError(f"image must hold uint8 or float values, not {raw.dtype}")
    if raw.ndim == 2:
        raw = raw[..., None]
    if raw.ndim != 3 or raw.shape[2] not in (1, 3):
        raise ValueError(f"image must be (H, W, 3), (H, W, 1) or (H, W), not shape {raw.shape}")
    if raw.dtype.kind in "iu":
        if raw.dtype != np.uint8:
            raise TypeError(f"integer images must be uint8 (0..255), not {raw.dtype}")
        rgb = raw.astype(np.float32) / 255
    else:
        rgb = _real_array(raw, "image", (3,))
        if rgb.min() < 0 or rgb.max() > 1:
            raise ValueError(f"a float image must lie in [0, 1], not {rgb.min()}..{rgb.max()} "
                             "(give 0..255 images as uint8)")
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    saliency = _real_array(saliency, "saliency", (2,))
    h, w = rgb.shape[:2]
    if saliency.shape != (h, w):
        raise ValueError(f"saliency has shape {saliency.shape}, the image {(h, w)}")
    if not isinstance(image_weight, numbers.Real) or isinstance(image_weight, bool):
        raise TypeError(f"image_weight must be a number, not {type(image_weight).__name__}")
    if not 0 <= image_weight <= 1:
        raise ValueError(f"image_weight = {image_weight} is outside [0, 1]")
    if colormap not in _COLORMAPS:
        raise ValueError(f"colormap {colormap!r} is not one of {', '.join(_COLORMAPS)}")
    colour = np.empty((h, w, 3), np.uint8)
    with _Ctx() as ctx:
        _check(_lib.decam_render_colormap(ctx, saliency.ctypes.data, w, h,
                                          _COLORMAPS.index(colormap), colour.ctypes.data),
               ctx, "decam_render_colormap")
    cam = (1 - image_weight) * (colour.astype(np.float32) / 255) + image_weight * rgb
    peak = cam.max()
    if peak > 0:
        cam = cam / peak
    out = np.rint(255 * cam).astype(np.uint8)
    listed = ([] if box is None else [box]) + ([] if boxes is None else list(boxes))
    for b in listed:
        _draw_box(out, getattr(b, "box", b), box_color)
    return out


def _draw_box(pixels, box, color, width=2):
    """A `width`-pixel outline of box (x0, y0, x1, y1, pixels) drawn inside it
    on (H, W, 3) uint8 pixels, clipped to them."""
    b = np.asarray(box, np.float64).reshape(-1)
    if b.size != 4 or not np.isfinite(b).all():
        raise ValueError(f"a box is four finite numbers x0, y0, x1, y1, not {b.tolist()}")
    h, w = pixels.shape[:2]
    x0, y0 = (int(np.clip(np.floor(v), 0, n)) for v, n in ((b[0], w), (b[1], h)))
    x1, y1 = (int(np.clip(np.ceil(v), 0, n)) for v, n in ((b[2], w), (b[3], h)))
    if x1 <= x0 or y1 <= y0:
        return
    color = np.asarray(color, np.uint8)
    pixels[y0:min(y0 + width, y1), x0:x1] = color
    pixels[max(y1 - width, y0):y1, x0:x1] = color
    pixels[y0:y1, x0:min(x0 + width, x1)] = color
    pixels[y0:y1, max(x1 - width, x0):x1] = color


def _torch_scorer(module, device, softmax):
    import torch

    def score(batch):  # (n, C, H, W) float32 NumPy, read-only
        x = torch.from_numpy(np.array(batch, copy=True)).to(device)
        with torch.no_grad():
            out = module(x)
            if softmax:
                out = torch.softmax(out, dim=1)
        return out.detach().cpu().numpy()
    return score


def _module_device(module):
    try:
        return next(module.parameters()).device
    except (StopIteration, AttributeError):
        return "cpu"


def quantus_explain(model, inputs, targets, *, device=None, softmax=True, channel_first=True,
                    **params):
    """An explain_func for Quantus (its metrics call
    explain_func(model=model, inputs=x_batch, targets=y_batch, **explain_func_kwargs)):

        metric = quantus.Faithfulness...(...)
        metric(model=net, x_batch=x, y_batch=y, a_batch=None, device="cpu",
               explain_func=decam.quantus_explain,
               explain_func_kwargs={"budget": 500, "seed": 0})

    model     what Quantus passes: the torch nn.Module, called as it is
              (put it in eval mode, as Quantus's own explainers do) under
              torch.no_grad() on `device`; or any callable from a float32
              NumPy batch (n, C, H, W) to scores (n, k)
    inputs    NumPy (N, C, H, W) as Quantus passes them (channel_first=False:
              (N, H, W, C)); any real dtype
    targets   one class per image: an array or list of N ints, or one int
    device    where the module's inputs go ("cpu", "cuda", a torch.device);
              default the device of its parameters. Quantus adds it to the
              keyword arguments when the metric is given device=.
    softmax   apply a softmax to the module's outputs (the default: DE-CAM's
              defaults are set for probabilities); False when the module
              ends in one already, or for callables (not applied to them)
    **params  libdecam parameters by name (budget=500, seed=0,
              method="rise", ...), as for Explainer

    Returns the maps as a NumPy float32 array (N, 1, H, W) in [0, 1]
    (Quantus's expand_attribution_channel() accepts it as it is)."""
    if _is_tensor(inputs):
        inputs = inputs.detach().cpu().numpy()
    x = _real_array(inputs, "inputs", (4,))
    if not channel_first:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    n = x.shape[0]
    y = targets.detach().cpu().numpy() if _is_tensor(targets) else np.asarray(targets)
    if y.dtype.kind not in "iu":
        raise TypeError(f"targets must be integers (class indices), not {y.dtype} values")
    if y.ndim == 0:
        y = np.full(n, y.item())
    y = y.reshape(-1)
    if y.size != n:
        raise ValueError(f"{y.size} targets for {n} inputs: give one class per input")
    torch_module = type(model).__module__.startswith("torch") and hasattr(model, "parameters")
    if torch_module:
        scorer = _torch_scorer(model, device or _module_device(model), softmax)
    elif callable(model):
        scorer = model
    else:
        raise TypeError(f"model must be a torch nn.Module or a callable, not "
                        f"{type(model).__name__}")
    if "layout" in params and params["layout"] not in ("chw", 1):
        raise DecamError(Status.OUT_OF_RANGE, "quantus_explain hands the model (n, C, H, W) "
                         "batches: layout is 'chw'", "quantus_explain")
    params["layout"] = "chw"
    with Explainer(scorer, **params) as ex:
        maps = ex.explain(x, targets=[int(t) for t in y])
    return maps[:, None]
