#!/usr/bin/env python3
"""bench_randomise.py - the model-randomisation check on the real classifier.

A saliency map should depend on the model. Adebayo et al.'s check: explain
the same photograph with the trained model and with a copy whose weights
are all replaced by random values, and compare the maps; maps that still
agree (rank correlation near the trained maps' agreement across seeds)
follow the image, not the model. tests/test_sanity.c runs the check on the
shapes classifier and allows a mean rho of 0.3; this script runs it on
MobileNet v1 0.25 (bench_real.py's model and photographs), for DE-CAM
settings given as --variant LABEL:name=value,...

The randomised copy: every initializer of the ONNX graph with more than one
value (convolution and fully connected weights, batch normalisation's
scales, means and variances and the biases) redrawn from a normal
distribution with the tensor's own mean and standard deviation (variances
kept positive), seed 0; the graph is unchanged. Photograph i is explained
with seed i for the trained model and seed i + 7919 for the randomised one
(as test_sanity.c does), for its labelled class. Prints, per setting, the
mean and standard error of Spearman's rho between the two maps.

    python3 tests/bench_randomise.py --half choosing --only $(seq -s, 4 15) \\
        --variant 'defaults:' --variant 'no deletion steps:deletion_steps=0'
"""
import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import bench_real as real


def randomised_copy(src, dst, seed=0):
    import numpy as np
    import onnx
    from onnx import numpy_helper
    model = onnx.load(str(src))
    rng = np.random.default_rng(seed)
    for init in model.graph.initializer:
        w = numpy_helper.to_array(init)
        if w.size < 2 or w.dtype.kind != "f":
            continue
        r = rng.normal(float(w.mean()), float(w.std()) or 1.0, w.shape).astype(w.dtype)
        if "var" in init.name.lower():
            r = np.abs(r) + 1e-3
        init.CopyFrom(numpy_helper.from_array(r, init.name))
    onnx.save(model, str(dst))


def explain(model, image, target, seed, budget, params):
    with real.decam.Explainer(model, layout="chw", n_outputs=1000, seed=seed) as ex:
        ex.set_param("budget", budget)
        for name, value in params.items():
            ex.set_param(name, value)
        return ex.explain(image, target=target)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--half", choices=("choosing", "reporting"), default="choosing")
    ap.add_argument("--only", type=real.ints, default=None,
                    help="positions in images.json (1-based)")
    ap.add_argument("--images", type=int, default=12, help="the first N of the half (12)")
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--variant", type=real.parse_variant, action="append", default=[])
    ap.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads (1)")
    ap.add_argument("--jsonl", help="append per-image rows here")
    args = ap.parse_args()
    why = real.missing() or (importlib.util.find_spec("onnx") is None and
                             "the onnx module (python3-onnx) is missing")
    if why:
        print(f"bench_randomise: skipped: {why}")
        return
    decam = real.load_binding(args.threads)
    variants = args.variant or [("defaults", {})]
    entries = json.load(open(real.DATA / "images.json"))
    first = 0 if args.half == "choosing" else 100
    chosen = ([p - 1 for p in args.only] if args.only
              else list(range(first, first + min(args.images, 100))))
    onnx_path = real.DATA / "mobilenet_v1_025_224.onnx"
    trained = real.Model(onnx_path)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "randomised.onnx"
        randomised_copy(onnx_path, copy)
        randomised = real.Model(copy)
    sink = open(args.jsonl, "a") if args.jsonl else None
    rhos = {label: [] for label, _ in variants}
    for i in chosen:
        e = entries[i]
        image = real.prepare(real.DATA / e["file"])
        for label, params in variants:
            a = explain(trained, image, e["class_index"], i, args.budget, params)
            b = explain(randomised, image, e["class_index"], i + real.SECOND_SEED, args.budget,
                        params)
            rho = decam.rank_correlation(a, b)
            rhos[label].append(rho)
            if sink:
                sink.write(json.dumps({"image": i, "setting": label, "budget": args.budget,
                                       "rho": rho}) + "\n")
                sink.flush()
        print(f"bench_randomise: image {i + 1 - first} ({e['class_name']}) done", file=sys.stderr)
    print("| setting | queries | rho, trained against randomised (mean +- se) |")
    print("|---|---|---|")
    for label, _ in variants:
        m, se = real.mean_se(rhos[label])
        print(f"| {label} | {args.budget} | {m:.3f} +- {se:.3f} |")
    print(f"\n{len(chosen)} images ({real.describe(chosen)}).")


if __name__ == "__main__":
    main()
