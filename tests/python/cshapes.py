"""The C shapes code (examples/shapes: scene.c, cnn.c) through ctypes, from
the shared build tests/python/run.sh makes; and a writer of weights files
with random values, so the ports are tested on more than one network."""
import ctypes
import os
import struct

import numpy as np

_c = ctypes
_lib = None


def lib():
    global _lib
    if _lib is None:
        _lib = _c.CDLL(os.environ["DECAM_TEST_SHAPES_LIB"])
        _lib.scene_generate.argtypes = [_c.c_uint64, _c.c_int, _c.c_void_p, _c.c_void_p,
                                        _c.POINTER(_c.c_int)]
        _lib.cnn_load.restype = _c.c_void_p
        _lib.cnn_load.argtypes = [_c.c_char_p, _c.c_char_p, _c.c_size_t]
        _lib.cnn_free.argtypes = [_c.c_void_p]
        for f in (_lib.cnn_input_size, _lib.cnn_num_classes):
            f.argtypes = [_c.c_void_p]
        for f in (_lib.cnn_forward, _lib.cnn_predict_proba):
            f.argtypes = [_c.c_void_p, _c.c_void_p, _c.c_size_t, _c.c_void_p]
    return _lib


def scene(seed, size=64):
    """scene_generate(): (size, size, 3) float32 RGB, (size, size) mask, label."""
    rgb = np.empty((size, size, 3), np.float32)
    mask = np.empty((size, size), np.uint8)
    label = _c.c_int()
    if lib().scene_generate(seed, size, rgb.ctypes.data, mask.ctypes.data, label) != 0:
        raise ValueError("scene_generate failed")
    return rgb, mask, label.value


class Net:
    """cnn.c's classifier: logits() and proba() of (n, S, S, 3) images."""

    def __init__(self, path):
        err = _c.create_string_buffer(256)
        self.net = lib().cnn_load(os.fsencode(path), err, len(err))
        if not self.net:
            raise ValueError(err.value.decode())
        self.size, self.classes = lib().cnn_input_size(self.net), lib().cnn_num_classes(self.net)

    def _run(self, f, images):
        images = np.ascontiguousarray(images, np.float32).reshape(-1, self.size, self.size, 3)
        out = np.empty((len(images), self.classes), np.float32)
        f(self.net, images.ctypes.data, len(images), out.ctypes.data)
        return out

    def logits(self, images):
        return self._run(lib().cnn_forward, images)

    def proba(self, images):
        return self._run(lib().cnn_predict_proba, images)

    def __del__(self):
        if getattr(self, "net", None):
            lib().cnn_free(self.net)


def write_random_weights(path, size=40, classes=5, layers=((8, 1), (16, 1), (16, 1), (16, 0)),
                         seed=0):
    """A valid weights file (examples/shapes/cnn.h, version 1) of He-scaled
    random values; layers are (out_channels, pool)."""
    rng = np.random.default_rng(seed)
    body = b"SHPCNN01" + struct.pack("<5I2f", 1, size, 3, classes, len(layers), 0.5, 2.0)
    prev, blobs = 3, []
    for cout, pool in layers:
        body += struct.pack("<3I", prev, cout, pool)
        blobs += [rng.normal(0, (2 / (9 * prev)) ** 0.5, cout * 9 * prev), rng.normal(0, 0.1, cout)]
        prev = cout
    blobs += [rng.normal(0, (1 / prev) ** 0.5, classes * prev), rng.normal(0, 0.1, classes)]
    body += b"".join(np.asarray(b, "<f4").tobytes() for b in blobs)
    h = 2166136261
    for b in body:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    with open(path, "wb") as f:
        f.write(body + struct.pack("<I", h))
