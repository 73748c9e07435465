"""Images and rendering, through the library's optional I/O part
(decam_io.h): load_image, resize, render_panel, save_image, and overlay (a
map over its image, as pytorch-grad-cam's show_cam_on_image() draws it).
Images are (H, W, C) float32 in [0, 1]; byte images (H, W, C) uint8."""

import numbers
import os

import numpy as np

from ._binding import DecamError, Status, _c, _check, _lib
from .inputs import _index, _is_tensor, _is_uint8, _real_array


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
