"""Images and rendering, through the library's optional I/O part
(decam_io.h): load_image, resize, render_panel, save_image. Images are
(H, W, C) float32 in [0, 1]; byte images (H, W, C) uint8."""

import numbers
import os

import numpy as np

from ._binding import DecamError, Status, _c, _check, _lib
from .inputs import _index, _is_uint8, _real_array


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
