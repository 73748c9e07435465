#!/usr/bin/env python3
"""Removes Identity nodes from an ONNX model, so that OpenCV 4.6 reads it.

PyTorch exports (1.13 among them) can leave Identity nodes in a graph,
often on weights; OpenCV 4.6's importer fails on them ("cannot import node
'...' (Identity)"). An Identity node computes nothing: every use of its
output is rewired to its input, and the node dropped. When the output is
a graph output, the node's input is renamed to it instead.

    python3 examples/onnx_strip_identity.py model.onnx -o model-cv.onnx

Needs python3-onnx (Debian) or `pip install onnx`. See docs/cli.md.
"""
import argparse
import sys

import onnx


def strip_identity(model):
    graph = model.graph
    outputs = {o.name for o in graph.output}
    removed = 0
    for node in [n for n in graph.node if n.op_type == "Identity"]:
        src, dst = node.input[0], node.output[0]
        graph.node.remove(node)
        removed += 1
        if dst in outputs:
            # The graph's output keeps its name: the producer of src writes
            # it, and every other use of src follows.
            old, new = src, dst
        else:
            old, new = dst, src
        for n in graph.node:
            for i, name in enumerate(n.input):
                if name == old:
                    n.input[i] = new
            for i, name in enumerate(n.output):
                if name == old:
                    n.output[i] = new
        for init in graph.initializer:
            if init.name == old:
                init.name = new
        for vi in list(graph.input) + list(graph.value_info):
            if vi.name == old:
                vi.name = new
    return removed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="the ONNX file to read")
    ap.add_argument("-o", "--output", required=True, help="where to write the result")
    args = ap.parse_args()
    model = onnx.load(args.model)
    removed = strip_identity(model)
    onnx.checker.check_model(model)
    onnx.save(model, args.output)
    print(f"{args.output}: {removed} Identity node(s) removed", file=sys.stderr)


if __name__ == "__main__":
    main()
