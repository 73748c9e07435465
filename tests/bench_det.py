#!/usr/bin/env python3
"""bench_det.py - faithfulness of detection saliency on a real pretrained detector.

DE-CAM, D-RISE, occlusion and a random smooth map explain the detections of
Yolo-Fastest 1.1 (darknet, run by OpenCV's DNN module through
decam.detectors.opencv_darknet) listed in ../shared/realdet/detections.json
(its README), each detection a decam.Detection target (box and class
scores), scored by the library's detection scorer (D-RISE's IoU x class
cosine x objectness). decam_evaluate() measures every map: deletion and
insertion AUC of the detection's score in steps of --eval-step pixels
(default 320 * 8: 40 steps), the pointing game and the energy inside the
box; queries and seconds per detection.

The 111 images split by position in detections.json: odd positions (1, 3,
...) choose settings (--half choosing), even positions only report
(--half reporting, the default). Detection d of image i is explained with
seed 1000 * i + d.

    python3 tests/bench_det.py --half choosing --jsonl det.jsonl
    python3 tests/bench_det.py --summary det.jsonl

--jsonl appends one line per detection (all settings) and skips the
detections already in the file, so a stopped run resumes. --summary prints
the Markdown table (mean +- s.e., paired wins against DE-CAM@500) of such
files. Exits 0 with one line "bench_det: skipped: ..." when the data or
OpenCV is missing.
"""
import argparse
import json
import math
import os
import resource
import sys
import time
from pathlib import Path

try:
    import numpy as np
except ImportError:
    np = None
try:
    import cv2
except ImportError:
    cv2 = None

SRC = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DECAM_REALDET", SRC.parent / "shared" / "realdet"))
SIDE = 320
REFERENCE = "DE-CAM@500"
BLACK = {"baseline": "constant", "baseline_value": 0}


def skip(why):
    print(f"bench_det: skipped: {why}")
    sys.exit(0)


def missing():
    """Why the benchmark (and test_realdet) cannot run, or None."""
    if np is None:
        return "NumPy (python3-numpy) is missing"
    if not (DATA / "detections.json").is_file():
        return f"{DATA} (the real-detector set) is absent"
    if cv2 is None:
        return "OpenCV's Python module (python3-opencv) is missing"
    return None


def prepare(path):
    """As the README prepares an image: RGB, plain bilinear resize to
    320 x 320, [0, 1] floats, (H, W, 3)."""
    rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    rgb = cv2.resize(rgb, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR)
    return rgb.astype(np.float32) / 255


class Counted:
    """The detector, counting images and seconds."""

    def __init__(self, model):
        self.model, self.images, self.seconds = model, 0, 0.0

    def __call__(self, batch):
        t0 = time.perf_counter()
        out = self.model(batch)
        self.seconds += time.perf_counter() - t0
        self.images += len(batch)
        return out


def load_model():
    import decam.detectors
    model, layout = decam.detectors.opencv_darknet(DATA / "yolo-fastest-1.1.cfg",
                                                   DATA / "yolo-fastest-1.1.weights",
                                                   (SIDE, SIDE))
    return Counted(model), layout


def target(d):
    import decam
    return decam.Detection(d["box"], class_scores=d["class_scores"],
                           objectness=d["objectness"])


def random_map(seed):
    """A smooth random map: a 7 x 7 uniform grid upsampled bilinearly."""
    grid = np.random.default_rng(seed).random((7, 7), dtype=np.float32)
    return cv2.resize(grid, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR)


def variant(text):
    """"name:key=value,key=value" -> (name, params): a DE-CAM setting to try."""
    name, _, rest = text.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        try:
            params[k] = float(v) if any(c in v for c in ".e") else int(v)
        except ValueError:
            params[k] = v
    return name, params


def settings(args):
    """(name, params, budget) per setting. A setting whose params hold
    "together" explains every detection of the image in one run (several
    targets) and measures each detection's map."""
    out = [] if args.variants_only else [
        (f"DE-CAM@{b}", {"method": "decam", "follow": args.follow}, b) for b in args.budgets]
    for text in args.variant or []:
        name, params = variant(text)
        out += [(f"{name}@{b}", dict(params, method="decam"), b) for b in args.budgets]
    out += [(f"D-RISE@{b}", dict(BLACK, method="rise", rise_grid=16, rise_keep=0.5), b)
            for b in args.rise_budgets]
    if not args.variants_only:
        out.append(("occlusion 32/16", dict(BLACK, method="occlusion", occlusion_window=32,
                                            occlusion_stride=16), 1e6))
        out.append(("random", None, 0))
    return out


_TOGETHER = {}  # (image position, setting name) -> (maps of every detection, queries, seconds)


def explain_together(ex, image, dets, key):
    """Every detection of the image in one run: its maps, queries, seconds."""
    if key not in _TOGETHER:
        _TOGETHER.clear()
        t0 = time.perf_counter()
        maps = ex.explain(image, targets=[dets])
        _TOGETHER[key] = (maps, ex.stats.queries, time.perf_counter() - t0)
    return _TOGETHER[key]


def measure(model, layout, image, det, setting, seed, args, dets=None, where=None):
    import decam
    name, params, budget = setting
    ex = decam.Explainer(model, detection_layout=layout, seed=seed, batch_size=args.batch,
                         eval_step=args.eval_step)
    with ex:
        t0 = time.perf_counter()
        if params is None:
            saliency, queries = random_map(seed), 0
        else:
            params = dict(params)
            together = params.pop("together", 0)
            for k, v in params.items():
                ex.set_param(k, v)
            ex.set_param("budget", budget)
            if together:
                # one run per image: the seed of its first detection
                ex.set_param("seed", seed - where[1])
                maps, queries, secs = explain_together(ex, image, dets, (where[0], name))
                saliency = maps[where[1]]
                t0 = time.perf_counter() - secs / len(dets)
            else:
                saliency = ex.explain(image, targets=det)
                queries = ex.stats.queries
        seconds = time.perf_counter() - t0
        m = ex.evaluate(image, saliency, target=det)
    return {"setting": name, "deletion": m.deletion_auc, "insertion": m.insertion_auc,
            "pointing": m.pointing_game, "energy": m.energy_pointing_game,
            "queries": queries, "seconds": seconds, "score": m.score_full}


def mean_se(values):
    """Mean and standard error over the finite values (a flat map has no
    energy share: NaN, counted apart)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    return v.mean(), (v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan"))


def summary(paths, reference):
    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    by = {}
    for r in rows:
        for s in r["settings"]:
            by.setdefault(s["setting"], {})[r["id"]] = s
    ref = by.get(reference, {})
    print(f"| setting | queries | deletion AUC (lower is better) | insertion AUC | "
          f"insertion - deletion | pointing game | energy in box | flat maps | seconds | "
          f"wins vs {reference}: deletion / insertion / ins - del |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, got in by.items():
        rs = list(got.values())
        cells = []
        for f in ("deletion", "insertion", None, "pointing", "energy"):
            vals = [r["insertion"] - r["deletion"] if f is None else r[f] for r in rs]
            m, se = mean_se(vals)
            cells.append(f"{m:.4f} +- {se:.4f}")
        wins = "-"
        if name != reference and ref:
            common = [i for i in got if i in ref]
            a, b = got, ref
            wins = "%d / %d / %d of %d" % (
                sum(a[i]["deletion"] < b[i]["deletion"] for i in common),
                sum(a[i]["insertion"] > b[i]["insertion"] for i in common),
                sum(a[i]["insertion"] - a[i]["deletion"] > b[i]["insertion"] - b[i]["deletion"]
                    for i in common), len(common))
        q = np.mean([r["queries"] for r in rs])
        secs = np.mean([r["seconds"] for r in rs])
        # an all-zero map (every query scored alike) has no energy share
        flat = sum(1 for r in rs if not np.isfinite(np.float64(r["energy"])))
        print(f"| {name} | {q:.0f} | " + " | ".join(cells) +
              f" | {flat} of {len(rs)} | {secs:.2f} | {wins} |")
    print(f"\n{len(rows)} detections.")


def ints(text):
    return [int(x) for x in text.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--half", choices=("choosing", "reporting"), default="reporting")
    ap.add_argument("--only", type=ints, help="these images only (1-based positions in "
                    "detections.json, of the half)")
    ap.add_argument("--detections", type=int, default=0,
                    help="stop after this many detections measured (0: all)")
    ap.add_argument("--budgets", type=ints, default=[250, 500, 1000], help="DE-CAM budgets")
    ap.add_argument("--rise-budgets", type=ints, default=[500, 1000, 4000],
                    help="D-RISE masks")
    ap.add_argument("--follow", choices=("first", "all"), default="first",
                    help="what DE-CAM's search follows (one target per run here: the same)")
    ap.add_argument("--variant", action="append",
                    help="a DE-CAM setting to try, NAME:key=value,...; together=1 explains "
                    "every detection of an image in one run (with follow=first or all)")
    ap.add_argument("--no-rise", action="store_true", help="leave D-RISE out")
    ap.add_argument("--variants-only", action="store_true",
                    help="only the --variant settings (no defaults, occlusion or random map), "
                    "to add to an earlier run's table")
    ap.add_argument("--eval-step", type=int, default=SIDE * 8,
                    help="pixels per deletion/insertion step (default %(default)s: 40 steps)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="OpenCV threads (0: its default)")
    ap.add_argument("--jsonl", help="append one line per detection; skip those already there")
    ap.add_argument("--summary", nargs="+", help="print the table of --jsonl files and stop")
    ap.add_argument("--reference", default=REFERENCE)
    args = ap.parse_args()

    if args.summary:
        if np is None:
            skip("NumPy (python3-numpy) is missing")
        summary(args.summary, args.reference)
        return
    why = missing()
    if why:
        skip(why)
    sys.path.insert(0, str(SRC / "lib" / "python"))
    if args.threads:
        cv2.setNumThreads(args.threads)
    entries = json.load(open(DATA / "detections.json"))
    parity = 1 if args.half == "choosing" else 0  # 1-based odd positions choose
    positions = [p for p in range(1, len(entries) + 1) if p % 2 == parity]
    if args.only:
        bad = [p for p in args.only if p not in positions]
        if bad:
            sys.exit(f"bench_det: --only: {bad} are not positions of the {args.half} half")
        positions = args.only
    done = set()
    if args.jsonl and os.path.exists(args.jsonl):
        done = {json.loads(line)["id"] for line in open(args.jsonl) if line.strip()}
    sink = open(args.jsonl, "a") if args.jsonl else None
    model, layout = load_model()
    if args.no_rise:
        args.rise_budgets = []
    todo = settings(args)
    t_start, n = time.time(), 0
    for p in positions:
        e = entries[p - 1]
        image = None
        for d, det in enumerate(e["detections"]):
            ident = f"{p}:{d}"
            if ident in done or (args.detections and n >= args.detections):
                continue
            image = prepare(DATA / e["file"]) if image is None else image
            seed = 1000 * (p - 1) + d
            row = {"id": ident, "image": p, "detection": d, "class": det["class_name"],
                   "targets": len(e["detections"]),
                   "settings": [measure(model, layout, image, target(det), s, seed, args,
                                        [target(x) for x in e["detections"]], (p, d))
                                for s in todo]}
            n += 1
            if sink:
                sink.write(json.dumps(row) + "\n")
                sink.flush()
            line = ", ".join(f"{s['setting']} {s['insertion'] - s['deletion']:+.3f}"
                             for s in row["settings"])
            print(f"bench_det: {ident} ({det['class_name']}): ins - del {line}; "
                  f"{time.time() - t_start:.0f} s", file=sys.stderr)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench_det: {n} detections, {model.images} model queries in {model.seconds:.0f} s "
          f"({1000 * model.seconds / max(model.images, 1):.1f} ms each); peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
