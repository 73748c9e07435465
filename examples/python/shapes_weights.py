"""Reads the shapes classifier's weights file (examples/shapes/cnn.h,
format version 1) into NumPy arrays, for the PyTorch port and the ONNX
export. Only NumPy is needed.

    w = shapes_weights.read("examples/shapes/shapes.weights")
    w.size, w.classes, w.shift, w.scale       # input side, classes, (x - shift) * scale
    for conv in w.convs: conv.weight, conv.bias, conv.pool   # weight (out, in, 3, 3)
    w.dense_weight, w.dense_bias              # (classes, channels), (classes,)

The network: the input normalised as (x - shift) * scale; per layer a 3x3
convolution (stride 1, zero padding 1) + bias + ReLU, then 2x2/2 max
pooling where `pool`; global average pooling; one dense layer: the logits.
"""

import dataclasses
import struct

import numpy as np

MAGIC = b"SHPCNN01"
VERSION = 1


@dataclasses.dataclass
class Conv:
    weight: np.ndarray  # float32 (out, in, 3, 3): PyTorch's and ONNX's order
    bias: np.ndarray  # float32 (out,)
    pool: bool


@dataclasses.dataclass
class Weights:
    size: int  # input side S: images are S x S x 3
    classes: int
    shift: float
    scale: float
    convs: list
    dense_weight: np.ndarray  # float32 (classes, channels of the last conv)
    dense_bias: np.ndarray  # float32 (classes,)


def fnv1a(data):
    """The file's checksum: FNV-1a, 32 bits."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def read(path):
    """Reads and checks a weights file; ValueError says what is wrong."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 40 or data[:8] != MAGIC:
        raise ValueError(f"{path}: not a shapes CNN weights file")
    version, size, channels, classes, layers = struct.unpack_from("<5I", data, 8)
    shift, scale = struct.unpack_from("<2f", data, 28)
    if version != VERSION or channels != 3 or not 1 <= layers <= 8:
        raise ValueError(f"{path}: unsupported header (version {version}, "
                         f"{channels} channels, {layers} layers)")
    if struct.unpack_from("<I", data, len(data) - 4)[0] != fnv1a(data[:-4]):
        raise ValueError(f"{path}: checksum mismatch (corrupt file)")
    table = np.frombuffer(data, "<u4", 3 * layers, 36).reshape(layers, 3)
    pos = 36 + 12 * layers

    def floats(count):
        nonlocal pos
        if pos + 4 * count > len(data) - 4:
            raise ValueError(f"{path}: truncated")
        a = np.frombuffer(data, "<f4", count, pos).astype(np.float32)
        pos += 4 * count
        return a

    convs, prev = [], 3
    for cin, cout, pool in table:
        if cin != prev:
            raise ValueError(f"{path}: layer input {cin} does not follow output {prev}")
        w = floats(cout * 9 * cin).reshape(cout, 3, 3, cin)  # the file: (out, ky, kx, in)
        convs.append(Conv(np.ascontiguousarray(w.transpose(0, 3, 1, 2)), floats(cout),
                          bool(pool)))
        prev = cout
    dense_weight = floats(classes * prev).reshape(classes, prev)
    dense_bias = floats(classes)
    if pos != len(data) - 4:
        raise ValueError(f"{path}: {len(data) - 4 - pos} bytes too many for this architecture")
    return Weights(size, classes, shift, scale, convs, dense_weight, dense_bias)
