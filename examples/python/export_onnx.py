#!/usr/bin/python3
"""export_onnx.py - writes the shapes classifier as an ONNX model.

    export_onnx.py [examples/shapes/shapes.weights] -o shapes.onnx

The graph is built node by node with onnx.helper from the weights file
(Debian's python3-onnx and NumPy; no PyTorch): input "image", float32
(N, 3, S, S) with values in [0, 1] (the normalisation (x - shift) * scale
is part of the graph); output "logits", (N, classes). Opset 11, which
OpenCV's DNN module (4.6) and ONNX Runtime both read.

    decam-explain --model shapes.onnx scene.png --size 64 --resize stretch --softmax -o panel.png
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shapes_weights  # noqa: E402

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "shapes" / "shapes.weights"


def build(w):
    """The ONNX ModelProto of a shapes_weights.Weights."""
    nodes, inits = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def node(op, inputs, **attrs):
        out = f"{op.lower()}{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    x = node("Sub", ["image", const("shift", w.shift)])
    x = node("Mul", [x, const("scale", w.scale)])
    for i, conv in enumerate(w.convs):
        weight, bias = const(f"conv{i}.weight", conv.weight), const(f"conv{i}.bias", conv.bias)
        x = node("Conv", [x, weight, bias], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                 strides=[1, 1])
        x = node("Relu", [x])
        if conv.pool:
            x = node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = node("GlobalAveragePool", [x])
    x = node("Flatten", [x], axis=1)
    nodes.append(helper.make_node("Gemm", [x, const("dense.weight", w.dense_weight),
                                           const("dense.bias", w.dense_bias)], ["logits"],
                                  transB=1))
    graph = helper.make_graph(
        nodes, "shapes", [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                        ["N", 3, w.size, w.size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", w.classes])], inits)
    model = helper.make_model(graph, producer_name="libdecam export_onnx.py",
                              opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7  # what opset 11 came with; older readers accept it
    onnx.checker.check_model(model)
    return model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", nargs="?", default=str(DEFAULT_WEIGHTS))
    ap.add_argument("-o", "--output", default="shapes.onnx")
    a = ap.parse_args(argv)
    w = shapes_weights.read(a.weights)
    onnx.save(build(w), a.output)
    print(f"{a.output}: input image (N, 3, {w.size}, {w.size}) in [0, 1], "
          f"output logits (N, {w.classes})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError) as e:
        sys.exit(f"export_onnx.py: {e}")
