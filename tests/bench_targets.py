#!/usr/bin/env python3
"""bench_targets.py - DE-CAM's maps of two classes from one run, against
each class's own run, on the real pretrained ImageNet classifier.

For every image (positions of images.json, as bench_real.py reads them,
image i explained with seed i) the model's two highest classes on the
unmodified image are explained:

    single        one run per class, each with the budget
    first         one run for both (targets [c1, c2]), the search following
                  c1 (DECAM_FOLLOW_FIRST, the default)
    all           one run, the search following both (DECAM_FOLLOW_ALL)
    each          one run, one search per class in turn, each half the
                  budget (DECAM_FOLLOW_EACH)
    each x2       as each with twice the budget: each class a single run's

Every map is scored in the RISE protocol (bench_real.py's) on its own
class. The table gives, per mode and class, deletion, insertion and
insertion minus deletion, and the paired difference in insertion minus
deletion against the class's single run at the same budget.

    python3 tests/bench_targets.py --half choosing --only 4,5,6 --budget 500
    python3 tests/bench_targets.py --summary FILE.jsonl

--params name=value,... is set on every run (the setting measured). Exits 0
with one line "bench_targets: skipped: ..." when the data or OpenCV is
missing.
"""
import argparse
import json
import sys
import time

import bench_real as real

MODES = ("single", "first", "all", "each", "each x2")


def run(model, image, targets, follow, budget, seed, params):
    with real.decam.Explainer(model, layout="chw", n_outputs=1000, seed=seed) as ex:
        ex.set_param("budget", budget)
        for name, value in params.items():
            ex.set_param(name, value)
        if follow:
            ex.set_param("follow", follow)
        maps = ex.explain(image, targets=[list(targets)] if len(targets) > 1 else targets[0])
        if len(targets) == 1:
            return [maps]
        return list(maps)


def score(model, image, saliency, target, seed, params):
    with real.decam.Explainer(model, layout="chw", n_outputs=1000, seed=seed) as ex:
        for name, value in params.items():
            ex.set_param(name, value)
        m = ex.evaluate(image, saliency, target=target)
    return m.deletion_auc, m.insertion_auc


def measure(model, image, i, budget, params):
    probs = model(image[None])[0]
    top = [int(c) for c in real.np.argsort(-probs)[:2]]
    maps = {"single": run(model, image, top[:1], None, budget, i, params) +
            run(model, image, top[1:], None, budget, i, params)}
    for mode, follow, b in (("first", "first", budget), ("all", "all", budget),
                            ("each", "each", budget), ("each x2", "each", 2 * budget)):
        maps[mode] = run(model, image, top, follow, b, i, params)
    rows = []
    for mode in MODES:
        for rank in (0, 1):
            d, ins = score(model, image, maps[mode][rank], top[rank], i, params)
            rows.append({"image": i, "mode": mode, "rank": rank + 1, "class": top[rank],
                         "budget": budget, "deletion": d, "insertion": ins})
    return rows


def table(rows):
    by = {}
    for r in rows:
        by.setdefault((r["mode"], r["rank"]), {})[r["image"]] = r
    out = ["| mode | class | deletion AUC | insertion AUC | insertion - deletion | "
           "ins - del minus the single run's (paired) |", "|---|---|---|---|---|---|"]
    for mode in MODES:
        for rank in (1, 2):
            rs = by.get((mode, rank))
            if not rs:
                continue
            ref = by[("single", rank)]
            common = [i for i in rs if i in ref]
            d, dse = real.mean_se([rs[i]["deletion"] for i in common])
            ins, ise = real.mean_se([rs[i]["insertion"] for i in common])
            g, gse = real.mean_se([rs[i]["insertion"] - rs[i]["deletion"] for i in common])
            paired = "-"
            if mode != "single":
                p, pse = real.mean_se([(rs[i]["insertion"] - rs[i]["deletion"]) -
                                       (ref[i]["insertion"] - ref[i]["deletion"])
                                       for i in common])
                paired = f"{p:+.4f} +- {pse:.4f}"
            out.append(f"| {mode} | {rank} | {d:.4f} +- {dse:.4f} | {ins:.4f} +- {ise:.4f} | "
                       f"{g:.4f} +- {gse:.4f} | {paired} |")
    images = sorted({r["image"] for r in rows})
    return "\n".join(out) + f"\n\n{len(images)} images ({real.describe(images)})."


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--half", choices=("choosing", "reporting"), default="choosing")
    ap.add_argument("--only", type=real.ints, default=None,
                    help="positions in images.json (1-based, within the half)")
    ap.add_argument("--images", type=int, default=20, help="the first N of the half (20)")
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--params", type=real.parse_params, default={})
    ap.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads (1)")
    ap.add_argument("--jsonl", help="append per-image rows here")
    ap.add_argument("--summary", nargs="+", help="print the table of --jsonl files and stop")
    args = ap.parse_args()
    if args.summary:
        rows = [json.loads(line) for f in args.summary for line in open(f) if line.strip()]
        print(table(rows))
        return
    if real.missing():
        print(f"bench_targets: skipped: {real.missing()}")
        return
    real.load_binding(args.threads)
    entries = json.load(open(real.DATA / "images.json"))
    first = 0 if args.half == "choosing" else 100
    chosen = ([p - 1 for p in args.only] if args.only
              else list(range(first, first + min(args.images, 100))))
    model = real.Model(real.DATA / "mobilenet_v1_025_224.onnx")
    sink = open(args.jsonl, "a") if args.jsonl else None
    rows, t0 = [], time.time()
    for n, i in enumerate(chosen):
        image = real.prepare(real.DATA / entries[i]["file"])
        new = measure(model, image, i, args.budget, args.params)
        rows += new
        if sink:
            sink.write("".join(json.dumps(r) + "\n" for r in new))
            sink.flush()
        print(f"bench_targets: image {n + 1}/{len(chosen)} done, {time.time() - t0:.0f} s",
              file=sys.stderr)
    print(table(rows))


if __name__ == "__main__":
    main()
