#!/usr/bin/env python3
"""bench_real.py - faithfulness on a real pretrained ImageNet classifier.

DE-CAM, RISE, occlusion and a random map explain MobileNet v1 0.25 (ONNX,
run by OpenCV's DNN module) on the labelled photographs of the project's
real-model set (../shared/realdata, its README), all through libdecam's
callback (the Python binding, lib/python/decam), and
decam_evaluate() scores every map in the RISE protocol: 224 steps of 224
pixels, deletion to black, insertion from a sigma-5 blur, the score being
the true class's probability. Prints a Markdown table: deletion and
insertion AUC (mean and standard error over the images), insertion minus
deletion, paired wins against DE-CAM at 500 queries with the defaults,
queries, seconds per image and, for the stochastic methods at
--stability-budgets, stability (Spearman's rho between the maps of
seeds s and s + 7919, decam.rank_correlation).

The 200 images split in two, in images.json order: the first 100 choose
settings (--half choosing), the last 100 only report (--half reporting,
the default). Image i (0..199 in images.json) is explained with seed i.

    python3 tests/bench_real.py --images 20 --plot real.png
    python3 tests/bench_real.py --half choosing --methods decam --budgets 500 \\
        --variant 'delete:objective=1' --variant 'grid 5:grid_width=5,grid_height=5'

--params name=value,... sets library parameters after every setting's own
(as BENCH_PARAMS does for bench_faithfulness); --variant LABEL:name=value,...
adds a DE-CAM setting at each of --budgets with those parameters. --jsonl
appends one line per image and setting as it is measured; --summary FILE
prints the table (and --plot) of such files without running anything,
over the images measured with every setting they hold.
Exits 0 with one line "bench_real: skipped: ..." when the data or OpenCV is
missing.
"""
import argparse
import json
import math
import os
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
DATA = Path(os.environ.get("DECAM_REALDATA", SRC.parent / "shared" / "realdata"))
SECOND_SEED = 7919
REFERENCE = "DE-CAM|defaults|500"  # the paired wins are counted against it (--reference)
SIDE = 224


def skip(why):
    print(f"bench_real: skipped: {why}")
    sys.exit(0)


def missing():
    """Why the real-model benchmarks cannot run here, or None: NumPy, the
    real-model set and OpenCV's Python module (the scripts that import
    this one skip with it too)."""
    if np is None:
        return "NumPy (python3-numpy) is missing"
    if not (DATA / "images.json").is_file():
        return f"{DATA} (the real-model set) is absent"
    if cv2 is None:
        return "OpenCV's Python module (python3-opencv) is missing"
    return None


def load_binding(threads):
    """Imports the library's Python binding (lib/python) as `decam` here,
    and sets OpenCV's threads (0: its default)."""
    global decam
    sys.path.insert(0, str(SRC / "lib" / "python"))
    import decam
    if threads:
        cv2.setNumThreads(threads)
    return decam


# ---- the settings ------------------------------------------------------------

BLACK = {"baseline": "constant", "baseline_value": 0}
PUBLISHED_RISE = dict(BLACK, rise_grid=7, rise_keep=0.5)
# window 32 (black) at strides whose query counts (3 + positions^2, see
# lib/occlusion.c) come near each DE-CAM budget; stride 8 is the reference.
OCCLUSION_STRIDES = {250: 13, 500: 9, 626: 8, 1000: 6, 2000: 5}


def settings(args):
    """(family, setting, budget or None, params, stochastic) per setting."""
    out, methods = [], args.methods
    budgets = args.budgets
    if "decam" in methods:
        out += [("DE-CAM", "defaults", b, {}, True) for b in budgets]
    for label, params in args.variant:
        out += [("DE-CAM", label, b, params, True) for b in budgets]
    if "rise" in methods:
        out += [("RISE", "grid 7, keep 0.5, black", b, PUBLISHED_RISE, True)
                for b in args.rise_budgets]
    if "rise-default" in methods:
        out += [("RISE", "library defaults", b, {}, True) for b in args.rise_budgets]
    if "occlusion" in methods:
        for near, stride in sorted(OCCLUSION_STRIDES.items()):
            if near == 626 or near in budgets:
                out.append(("occlusion", f"32 x 32, stride {stride}, black", None,
                            dict(BLACK, occlusion_window=32, occlusion_stride=stride), False))
    if "random" in methods:
        out.append(("random", "smooth random map", 0, {}, False))
    return out


def key(s):
    return f"{s[0]}|{s[1]}|{s[2] if s[2] is not None else ''}"


# ---- data and model ------------------------------------------------------------


def prepare(path):
    """As the README prepares an image (and as images.json's p_true was
    measured, which PIL's antialiased bilinear resize reproduces exactly):
    RGB, shorter side to 256, centre crop 224, [0, 1], CHW."""
    from PIL import Image
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        scale = 256 / min(w, h)
        nw, nh = max(256, round(w * scale)), max(256, round(h * scale))
        rgb = np.asarray(im.resize((nw, nh), Image.BILINEAR))
    y, x = (nh - SIDE) // 2, (nw - SIDE) // 2
    crop = rgb[y:y + SIDE, x:x + SIDE].astype(np.float32) / 255
    return np.ascontiguousarray(crop.transpose(2, 0, 1))


class Model:
    """The ONNX classifier: (n, 3, 224, 224) in [0, 1] -> (n, 1000) softmax."""

    def __init__(self, path):
        self.net = cv2.dnn.readNetFromONNX(str(path))
        self.images = 0
        self.seconds = 0.0

    def __call__(self, batch):
        t0 = time.perf_counter()
        self.net.setInput(np.array(batch, np.float32, copy=True))
        out = self.net.forward().reshape(len(batch), -1)
        self.seconds += time.perf_counter() - t0
        self.images += len(batch)
        return out


def random_map(seed):
    """A smooth random map: a 7 x 7 uniform grid upsampled bilinearly."""
    grid = np.random.default_rng(seed).random((7, 7), dtype=np.float32)
    return cv2.resize(grid, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR)


# ---- measuring -------------------------------------------------------------------


def explainer(model, label, s, seed, args):
    family, _, budget, params, _ = s
    ex = decam.Explainer(model, layout="chw", n_outputs=1000, batch_size=args.batch,
                         seed=seed)
    if family != "random":
        ex.set_param("method", {"DE-CAM": "decam", "RISE": "rise",
                                "occlusion": "occlusion"}[family])
        ex.set_param("budget", budget if budget else 1e6)
    for name, value in list(params.items()) + list(args.params.items()):
        ex.set_param(name, value)
    return ex


def explain(model, image, label, s, seed, args):
    """The map and the run's statistics (None for the random map)."""
    if s[0] == "random":
        return random_map(seed), None
    with explainer(model, label, s, seed, args) as ex:
        saliency = ex.explain(image, target=label)
        return saliency, ex.stats


def measure(model, image, label, s, seed, args):
    t0 = time.perf_counter()
    saliency, stats = explain(model, image, label, s, seed, args)
    seconds = time.perf_counter() - t0
    with explainer(model, label, s, seed, args) as ex:
        m = ex.evaluate(image, saliency, target=label)
    row = {"setting": key(s), "deletion": m.deletion_auc, "insertion": m.insertion_auc,
           "queries": stats.queries if stats else 0, "seconds": seconds, "score": m.score_full}
    if s[0] == "DE-CAM":  # what the search reached, beside what the map is worth
        row["best_fitness"] = stats.best_fitness
        row["generations"] = stats.generations
    if s[4] and s[2] in args.stability_budgets:
        other, _ = explain(model, image, label, s, seed + SECOND_SEED, args)
        row["stability"] = decam.rank_correlation(saliency, other)
    return row, saliency


# ---- the table ---------------------------------------------------------------------


def mean_se(values):
    v = np.asarray(values, float)
    se = v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan")
    return v.mean(), se


def table(rows, order, reference=REFERENCE):
    by = {}
    for r in rows:
        by.setdefault(r["setting"], {})[r["image"]] = r
    ref = by.get(reference)
    family, setting, budget = reference.split("|")
    name = f"{family}@{budget}" + ("" if setting == "defaults" else f" ({setting})")
    out = ["| method | setting | queries per image | deletion AUC (lower is better) | "
           f"insertion AUC | insertion - deletion | wins vs {name}: deletion / insertion / "
           f"ins - del | ins - del minus {name}'s (paired) | seconds per image | "
           "stability (rho, two seeds) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    summary = []
    for k in order + sorted(set(by) - set(order)):
        if k not in by:
            continue
        rs = list(by[k].values())
        dl, dse = mean_se([r["deletion"] for r in rs])
        il, ise = mean_se([r["insertion"] for r in rs])
        gap, gse = mean_se([r["insertion"] - r["deletion"] for r in rs])
        wins, paired = "-", "-"
        if ref is not None and k != reference:
            common = [i for i in by[k] if i in ref]
            a, b = by[k], ref
            wins = "%d / %d / %d of %d" % (
                sum(a[i]["deletion"] < b[i]["deletion"] for i in common),
                sum(a[i]["insertion"] > b[i]["insertion"] for i in common),
                sum(a[i]["insertion"] - a[i]["deletion"] > b[i]["insertion"] - b[i]["deletion"]
                    for i in common), len(common))
            d, dse_ = mean_se([(a[i]["insertion"] - a[i]["deletion"]) -
                               (b[i]["insertion"] - b[i]["deletion"]) for i in common])
            paired = f"{d:+.4f} +- {dse_:.4f}"
        stab = [r["stability"] for r in rs if "stability" in r]
        stab_cell = "- |"
        if stab:
            sm, sse = mean_se(stab)
            stab_cell = f"{sm:.3f} +- {sse:.3f}"
            both = [i for i in by[k] if ref is not None and k != reference and i in ref
                    and "stability" in by[k][i] and "stability" in ref[i]]
            if both:
                d, dse_ = mean_se([by[k][i]["stability"] - ref[i]["stability"] for i in both])
                stab_cell += f" (paired {d:+.3f} +- {dse_:.3f})"
            stab_cell += " |"
        family, setting, _ = k.split("|")
        q = np.mean([r["queries"] for r in rs])
        secs = np.mean([r["seconds"] for r in rs])
        out.append(f"| {family} | {setting} | {q:.0f} | {dl:.4f} +- {dse:.4f} | "
                   f"{il:.4f} +- {ise:.4f} | {gap:.4f} +- {gse:.4f} | {wins} | {paired} | {secs:.2f} | "
                   + stab_cell)
        summary.append((family, setting, q, dl, il, len(rs)))
    images = sorted({r["image"] for r in rows})
    return "\n".join(out), summary, images


def search_table(rows, order, reference=REFERENCE):
    """What DE-CAM's search itself reached: generations and best fitness (the
    score term minus the area term), paired against the reference; "" when
    the rows do not hold them."""
    by = {}
    for r in rows:
        if "best_fitness" in r:
            by.setdefault(r["setting"], {})[r["image"]] = r
    if not by:
        return ""
    ref = by.get(reference)
    out = ["| setting | queries | generations | best fitness | higher than the reference's on | "
           "best fitness minus the reference's (paired) |", "|---|---|---|---|---|---|"]
    for k in order + sorted(set(by) - set(order)):
        if k not in by:
            continue
        a = by[k]
        fit, fse = mean_se([r["best_fitness"] for r in a.values()])
        gens = np.mean([r["generations"] for r in a.values()])
        wins, paired = "-", "-"
        if ref is not None and k != reference:
            common = [i for i in a if i in ref]
            wins = "%d of %d" % (sum(a[i]["best_fitness"] > ref[i]["best_fitness"]
                                     for i in common), len(common))
            d, dse = mean_se([a[i]["best_fitness"] - ref[i]["best_fitness"] for i in common])
            paired = f"{d:+.4f} +- {dse:.4f}"
        _, setting, budget = k.split("|")
        out.append(f"| {setting} | {budget} | {gens:.1f} | {fit:.4f} +- {fse:.4f} | {wins} | "
                   f"{paired} |")
    return "\n".join(out)


def plot(summary, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench_real: no plot: python3-matplotlib is not installed", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    lines = {}
    for family, setting, q, dl, il, _ in summary:
        if family == "DE-CAM" and setting != "defaults":
            continue
        label = "occlusion (32 x 32, black, by stride)" if family == "occlusion" else \
            f"{family} ({setting})"
        lines.setdefault(label, []).append((max(q, 1), dl, il))
    for ax, col, name in zip(axes, (1, 2, 3), ("deletion AUC (lower is better)",
                                                "insertion AUC (higher is better)",
                                                "insertion - deletion (higher is better)")):
        for label, pts in lines.items():
            pts.sort()
            xs = [p[0] for p in pts]
            ys = [p[col] if col < 3 else p[2] - p[1] for p in pts]
            if label.startswith("random"):
                ax.axhline(ys[0], color="gray", linestyle=":", label=label)
            else:
                ax.plot(xs, ys, marker="o", label=label)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("model queries per image")
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
    axes[2].legend(fontsize=8, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


# ---- command line ---------------------------------------------------------------


def parse_params(text):
    params = {}
    for item in filter(None, (text or "").split(",")):
        name, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"bad item '{item}' (name=value)")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            params[name.strip()] = value.strip()  # an enum's name, e.g. objective=both
    return params


def parse_variant(text):
    label, sep, params = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"bad variant '{text}' (LABEL:name=value,...)")
    return label, parse_params(params)


def ints(text):
    return [int(x) for x in text.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--half", choices=("choosing", "reporting"), default="reporting")
    ap.add_argument("--images", type=int, default=100, help="the first N of the half")
    ap.add_argument("--methods", type=lambda t: t.split(","),
                    default=["decam", "rise", "rise-default", "occlusion", "random"],
                    help="comma list of decam, rise (published setting), rise-default, "
                    "occlusion, random")
    ap.add_argument("--budgets", type=ints, default=[250, 500, 1000, 2000],
                    help="DE-CAM budgets (and which occlusion strides run)")
    ap.add_argument("--rise-budgets", type=ints, default=[500, 1000, 4000])
    ap.add_argument("--variant", type=parse_variant, action="append", default=[])
    ap.add_argument("--params", type=parse_params, default={})
    ap.add_argument("--stability-budgets", type=ints, default=[250, 500, 1000, 2000],
                    help="budgets at which stochastic settings get stability (a second "
                    "seed: doubles their cost); '' for none")
    ap.add_argument("--batch", type=int, default=64, help="most images per model call")
    ap.add_argument("--threads", type=int, default=0, help="OpenCV threads (0: its default)")
    ap.add_argument("--jsonl", help="append per-image results here")
    ap.add_argument("--summary", nargs="+", help="print the table of --jsonl files and stop")
    ap.add_argument("--reference", default=REFERENCE,
                    help="the setting the wins and the paired column are counted against, "
                    "as FAMILY|SETTING|BUDGET (default %(default)s)")
    ap.add_argument("--plot", help="write the AUC-against-queries plot here (PNG)")
    ap.add_argument("--only", type=ints, default=None,
                    help="these images only (1-based positions in images.json, in the half)")
    ap.add_argument("--panels", help="write image | map | overlay panels into this folder")
    ap.add_argument("--panels-only", action="store_true",
                    help="explain and write --panels, without evaluating")
    args = ap.parse_args()

    if np is None:
        skip("NumPy (python3-numpy) is missing")
    if args.summary:
        rows = [json.loads(line) for path in args.summary for line in open(path)]
        # only images measured with every setting (runs may have been stopped)
        settings_of = {}
        for r in rows:
            settings_of.setdefault(r["image"], set()).add(r["setting"])
        every = set().union(*settings_of.values()) if settings_of else set()
        rows = [r for r in rows if settings_of[r["image"]] == every]
        families = ["DE-CAM", "RISE", "occlusion", "random"]
        first = list(dict.fromkeys(r["setting"] for r in rows))
        queries = {}
        for r in rows:
            queries.setdefault(r["setting"], []).append(r["queries"])
        def rank(k):  # DE-CAM defaults, its variants as run, RISE, occlusion, random
            family, label, _ = k.split("|")
            variant = first.index(k) if family == "DE-CAM" and label != "defaults" else -1
            return (families.index(family), variant, label if family == "RISE" else "",
                    np.mean(queries[k]))
        order = sorted(first, key=rank)
        text, summary, images = table(rows, order, args.reference)
        print(text)
        print(f"\n{len(images)} images ({describe(images)}).")
        search = search_table(rows, order, args.reference)
        if search:
            print("\nDE-CAM's search:\n\n" + search)
        if args.plot:
            plot(summary, args.plot, f"MobileNet v1 0.25 (OpenCV DNN), RISE protocol, "
                 f"{len(images)} images ({describe(images)})")
        return

    if missing():
        skip(missing())
    try:
        import PIL  # noqa: F401 (decodes and resizes as the README prescribes)
    except ImportError:
        skip("PIL (python3-pil) is missing")
    load_binding(args.threads)

    entries = json.load(open(DATA / "images.json"))
    first = 0 if args.half == "choosing" else 100
    chosen = list(range(first, first + min(args.images, 100)))
    if args.only:
        if any(not first < p <= first + 100 for p in args.only):
            sys.exit(f"bench_real: --only: positions of the {args.half} half are "
                     f"{first + 1}..{first + 100}")
        chosen = [p - 1 for p in args.only]
    model = Model(DATA / "mobilenet_v1_025_224.onnx")
    todo = settings(args)
    sink = open(args.jsonl, "a") if args.jsonl else None
    rows, worst = [], 0.0
    t_start = time.time()
    for n, i in enumerate(chosen):
        e = entries[i]
        image = prepare(DATA / e["file"])
        label = e["class_index"]
        for s in todo:
            if args.panels_only:
                saliency, _ = explain(model, image, label, s, i, args)
            else:
                row, saliency = measure(model, image, label, s, i, args)
                row["image"] = i
                worst = max(worst, abs(row["score"] - e["p_true"]))
                rows.append(row)
                if sink:
                    sink.write(json.dumps(row) + "\n")
                    sink.flush()
            if args.panels and s[0] != "random":
                Path(args.panels).mkdir(parents=True, exist_ok=True)
                name = key(s).replace("|", "-").replace(" ", "").replace(",", "")
                decam.save_image(Path(args.panels) / f"{i + 1:03d}-{name}.png",
                                 decam.render_panel(image.transpose(1, 2, 0), saliency))
        print(f"bench_real: image {n + 1}/{len(chosen)} ({e['class_name']}) done, "
              f"{time.time() - t_start:.0f} s", file=sys.stderr)
    if args.panels_only:
        return
    text, summary, images = table(rows, [key(s) for s in todo], args.reference)
    print(text)
    print(f"\n{len(images)} images of the {args.half} half ({describe(images)}), "
          f"MobileNet v1 0.25 through OpenCV {cv2.__version__}; "
          f"{model.images} model queries in {model.seconds:.0f} s "
          f"({1000 * model.seconds / max(model.images, 1):.2f} ms each); "
          f"true-class probability as images.json gives it to {worst:.1e}.")
    if args.params:
        print(f"Parameters set on every setting: {args.params}.")
    search = search_table(rows, [key(s) for s in todo], args.reference)
    if search:
        print("\nDE-CAM's search:\n\n" + search)
    if args.plot:
        plot(summary, args.plot, f"MobileNet v1 0.25 (OpenCV DNN), {len(images)} images of "
             f"the {args.half} half, RISE protocol")


def describe(images):
    """Images as 1-based positions in images.json, as ranges."""
    spans, start = [], None
    for k, i in enumerate(images):
        if start is None:
            start = i
        if k + 1 == len(images) or images[k + 1] != i + 1:
            spans.append(f"{start + 1}" if start == i else f"{start + 1}-{i + 1}")
            start = None
    return "images.json positions " + ", ".join(spans)


if __name__ == "__main__":
    main()
