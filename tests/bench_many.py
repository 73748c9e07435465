#!/usr/bin/env python3
"""bench_many.py - many images per run, several classes per run, and async
models, on the real-model set (../shared/realdata: MobileNet v1 0.25, ONNX,
run by OpenCV's DNN module on one thread), through the Python binding.

  (a) throughput: images per second explaining the reporting-half images
      (images.json positions 100..163 by default) at budget 500, one image
      per run (batch 48: a generation per model call) against one run of
      many images (batch 256 and 512), with the same maps (checked byte for
      byte). The images go in groups (16 by default), each group timed in
      every mode one after the other, so that the machine's load falls on
      the modes alike; the table gives the median over the groups.
  (b) five classes: each image's top-5 classes explained by one run (one
      budget) against five separate runs (five budgets), for DE-CAM and
      RISE at budget 500, on 8 images (positions 100..107): queries and
      seconds per image, and each class's map's deletion and insertion
      AUC (decam_evaluate(), the RISE protocol: 224 steps of 224 pixels,
      the score being that class's probability). RISE's maps from one run
      must be the separate runs' bytes, as must DE-CAM's first class (the
      one its search follows); the benchmark checks both, and evaluates
      such maps once.
  (c) async overlap: 8 explanations (budget 500, batch 48) with an async
      model that awaits 50 ms per call, one after the other against
      asyncio.gather(): a latency-only model (the scores of a fixed image
      region, so the time is the latency and the library's own work), and
      with --real-async also the real classifier behind the same latency,
      its forward pass in a thread (asyncio.to_thread; OpenCV releases the
      GIL), which on two cores is bound by the CPU. Median of 3 repeats.

    nice -n 19 /usr/bin/python3 tests/bench_many.py            # all: ~195,000 queries
    nice -n 19 /usr/bin/python3 tests/bench_many.py --parts c --repeats 1

With the defaults the real model answers about 195,000 queries: some 11
minutes at the README's 3.5 ms a query, an hour on a loaded machine;
docs/benchmarks.md ("Many images, several classes, async") says which
smaller settings it used.

Prints Markdown tables. Exits 0 with "bench_many: skipped: ..." when the
data, OpenCV or PIL is missing.
"""
import argparse
import asyncio
import queue
import statistics
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(SRC / "tests"), str(SRC / "lib" / "python")]
import bench_real  # noqa: E402 (the set, its preparation and the model)

np, cv2 = bench_real.np, bench_real.cv2
LATENCY = 0.05


def skip(why):
    print(f"bench_many: skipped: {why}")
    sys.exit(0)


def median(values):
    return statistics.median(values) if values else float("nan")


def load(first, count):
    import json
    entries = json.load(open(bench_real.DATA / "images.json"))[first:first + count]
    images = [bench_real.prepare(bench_real.DATA / e["file"]) for e in entries]
    return images, [e["class_index"] for e in entries]


class Counted:
    """bench_real.Model, counting its calls."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __call__(self, batch):
        self.calls += 1
        return self.model(batch)


def explainer(model, **params):
    import decam
    params = dict({"n_outputs": 1000, "seed": 0}, **params)
    return decam.Explainer(model, layout="chw", **params)


# ---- (a) images per second ----------------------------------------------------


def part_a(model, args):
    images, labels = load(args.first, args.images)
    modes = [("one image per run", 48)] + [("many images per run", b) for b in args.batches]
    rates = {m: [] for m in modes}
    calls = {m: 0 for m in modes}
    split = {m: [0.0, 0.0] for m in modes}  # seconds in the model, in the library
    identical = True
    for g in range(0, len(images), args.group):
        imgs, labs = images[g:g + args.group], labels[g:g + args.group]
        reference = None
        for mode in modes:
            name, batch = mode
            before = model.calls
            t0 = time.perf_counter()
            with explainer(model, budget=args.budget, batch_size=batch) as ex:
                if name.startswith("one"):
                    maps = []
                    for img, t in zip(imgs, labs):
                        maps.append(ex.explain(img, t))
                        split[mode][0] += ex.stats.model_seconds
                        split[mode][1] += ex.stats.library_seconds
                    maps = np.stack(maps)
                else:
                    maps = ex.explain(np.stack(imgs), targets=labs)
                    split[mode][0] += ex.stats.model_seconds
                    split[mode][1] += ex.stats.library_seconds
            rates[mode].append(len(imgs) / (time.perf_counter() - t0))
            calls[mode] += model.calls - before
            if reference is None:
                reference = maps
            elif maps.tobytes() != reference.tobytes():
                identical = False
                print(f"bench_many: (a) group {g}: {name}, batch {batch}: maps differ "
                      f"(max {np.abs(maps - reference).max():.3g})", file=sys.stderr)
        print(f"bench_many: (a) images {g}..{g + len(imgs) - 1}: " +
              ", ".join(f"{b}: {rates[m][-1]:.3f}/s" for m, (_, b) in zip(modes, modes)),
              file=sys.stderr, flush=True)
    base = median(rates[modes[0]])
    print(f"\n(a) {len(images)} images (positions {args.first}..{args.first + len(images) - 1}),"
          f" budget {args.budget}, groups of {args.group}; maps identical in every mode: "
          f"{'yes' if identical else 'NO'}\n")
    print("| mode | batch size | model calls per image | images per second (median over "
          f"{len(rates[modes[0]])} groups) | against one image per run | seconds per image "
          "in the model / in the library |")
    print("|---|---|---|---|---|---|")
    for mode in modes:
        r = median(rates[mode])
        m, lib = (x / len(images) for x in split[mode])
        print(f"| {mode[0]} | {mode[1]} | {calls[mode] / len(images):.1f} | {r:.3f} | "
              f"{r / base:.2f}x | {m:.2f} / {lib:.2f} |")
    return identical


# ---- (b) five classes ----------------------------------------------------------


def part_b(model, args):
    images, _ = load(args.first, args.classes_images)
    k = 5
    methods = [("DE-CAM", {"method": "decam"}), ("RISE", {"method": "rise"})]
    rows = {}  # (method, mode) -> lists
    auc = {}  # (method, mode, rank) -> [(deletion, insertion)]
    checks = []
    for i, image in enumerate(images):
        scores = model(image[None])[0]
        top = [int(c) for c in np.argsort(-scores.astype(np.float64), kind="stable")[:k]]
        for method, params in methods:
            p = dict(params, budget=args.budget, batch_size=48)
            t0 = time.perf_counter()
            with explainer(model, **p) as ex:
                together = ex.explain(image, targets=[top])
                q_one = ex.stats.queries
            s_one = time.perf_counter() - t0
            t0, q_sep, separate = time.perf_counter(), 0, []
            for c in top:
                with explainer(model, **p) as ex:
                    separate.append(ex.explain(image, c))
                    q_sep += ex.stats.queries
            s_sep = time.perf_counter() - t0
            rows.setdefault((method, "one run, 5 classes"), []).append((q_one, s_one))
            rows.setdefault((method, "5 runs, 1 class each"), []).append((q_sep, s_sep))
            same = [together[r].tobytes() == separate[r].tobytes() for r in range(k)]
            checks.append((method, i, same))
            with explainer(model, **dict(p, eval_step=args.eval_step)) as ex:
                for r, c in enumerate(top):
                    m1 = ex.evaluate(image, together[r], target=c)
                    m2 = m1 if same[r] else ex.evaluate(image, separate[r], target=c)
                    auc.setdefault((method, "one", r), []).append(
                        (m1.deletion_auc, m1.insertion_auc))
                    auc.setdefault((method, "sep", r), []).append(
                        (m2.deletion_auc, m2.insertion_auc))
        print(f"bench_many: (b) image {args.first + i} done", file=sys.stderr, flush=True)
    n = len(images)
    print(f"\n(b) {n} images (positions {args.first}..{args.first + n - 1}), their top-{k} "
          f"classes, budget {args.budget}, batch 48, AUCs in steps of {args.eval_step} pixels; "
          "medians over the images\n")
    print("| method | how | queries per image | seconds per image |")
    print("|---|---|---|---|")
    for (method, how), v in rows.items():
        print(f"| {method} | {how} | {median([q for q, _ in v]):.0f} | "
              f"{median([s for _, s in v]):.2f} |")
    print("\n| method | class (rank on the image) | deletion AUC: one run / separate runs | "
          "insertion AUC: one run / separate runs | insertion - deletion, one run minus "
          "separate (median of the paired differences) | maps identical |")
    print("|---|---|---|---|---|---|")
    for method, _ in methods:
        for r in range(k):
            one, sep = auc[(method, "one", r)], auc[(method, "sep", r)]
            diff = [(b1 - a1) - (b2 - a2) for (a1, b1), (a2, b2) in zip(one, sep)]
            n_same = sum(c[2][r] for c in checks if c[0] == method)
            print(f"| {method} | {r + 1} | {median([a for a, _ in one]):.4f} / "
                  f"{median([a for a, _ in sep]):.4f} | {median([b for _, b in one]):.4f} / "
                  f"{median([b for _, b in sep]):.4f} | {median(diff):+.4f} | "
                  f"{n_same} of {n} |")
    rise_ok = all(all(c[2]) for c in checks if c[0] == "RISE")
    first_ok = all(c[2][0] for c in checks if c[0] == "DE-CAM")
    print(f"\nRISE's maps from one run are the separate runs' bytes: {'yes' if rise_ok else 'NO'};"
          f" DE-CAM's first class too: {'yes' if first_ok else 'NO'}")
    return rise_ok and first_ok


# ---- (c) async overlap -----------------------------------------------------------


class Latency:
    """The scores of a fixed region (no network), after LATENCY seconds."""

    async def __call__(self, batch):
        scores = batch[:, 0, 80:144, 80:144].mean(axis=(1, 2))  # read before the await
        await asyncio.sleep(LATENCY)
        return scores


class RemoteLike:
    """The real classifier behind LATENCY seconds, its forward pass in a
    thread on a network of its own (cv2.dnn.Net is not shared between
    threads), as a server with a pool of networks would run it."""

    def __init__(self):
        self.free = queue.SimpleQueue()

    def forward(self, batch):
        try:
            net = self.free.get_nowait()
        except queue.Empty:
            net = bench_real.Model(bench_real.DATA / "mobilenet_v1_025_224.onnx")
        try:
            return net(batch)
        finally:
            self.free.put(net)

    async def __call__(self, batch):
        batch = np.array(batch, copy=True)  # the view is valid until the call returns:
        await asyncio.sleep(LATENCY)        # a copy, as a client serialising it would
        return await asyncio.to_thread(self.forward, batch)


def part_c(model, args):
    images, labels = load(args.first, 8)
    print(f"\n(c) 8 images (positions {args.first}..{args.first + 7}), budget {args.budget}, "
          f"batch 48, {LATENCY * 1000:.0f} ms per call; median of {args.repeats} repeats\n")
    print("| model | one after the other (s) | asyncio.gather (s) | gathered / serial | "
          "maps identical to explain() |")
    print("|---|---|---|---|---|")
    region = (lambda batch: batch[:, 0, 80:144, 80:144].mean(axis=(1, 2)))
    cases = [("latency only (region mean)", Latency, region, 1, [0] * 8)]
    if args.real_async:
        cases.append(("MobileNet in a thread + latency", RemoteLike, model, 1000, labels))
    for name, make, sync_model, outputs, targets in cases:
        serial, gathered, same = [], [], True
        for _ in range(args.repeats):
            m = make()
            ex = explainer(m, budget=args.budget, batch_size=48, n_outputs=outputs)

            async def one_by_one():
                return [await ex.explain_async(img, m, t) for img, t in zip(images, targets)]

            async def together():
                return await asyncio.gather(*(ex.explain_async(img, m, t)
                                              for img, t in zip(images, targets)))

            t0 = time.perf_counter()
            a = asyncio.run(one_by_one())
            t1 = time.perf_counter()
            b = asyncio.run(together())
            t2 = time.perf_counter()
            serial.append(t1 - t0)
            gathered.append(t2 - t1)
            same &= all(x.tobytes() == y.tobytes() for x, y in zip(a, b))
            ex.close()
        # and the synchronous explain() of the same model, once
        with explainer(sync_model, budget=args.budget, batch_size=48, n_outputs=outputs) as ex:
            same &= all(ex.explain(img, t).tobytes() == x.tobytes()
                        for img, t, x in zip(images, targets, b))
        s, g = median(serial), median(gathered)
        print(f"| {name} | {s:.2f} | {g:.2f} | {g / s:.2f} | {'yes' if same else 'NO'} |")
        print(f"bench_many: (c) {name}: serial {serial}, gathered {gathered}", file=sys.stderr,
              flush=True)
    return same


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="a,b,c", help="which parts: a, b, c (default all)")
    ap.add_argument("--first", type=int, default=100, help="first images.json position (100)")
    ap.add_argument("--images", type=int, default=64, help="(a) images (64)")
    ap.add_argument("--group", type=int, default=16, help="(a) images per timed group (16)")
    ap.add_argument("--batches", default="256,512", help="(a) many-images batch sizes")
    ap.add_argument("--classes-images", type=int, default=8, help="(b) images (8)")
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--eval-step", type=int, default=224,
                    help="(b) pixels per deletion/insertion step (224: the RISE protocol)")
    ap.add_argument("--repeats", type=int, default=3, help="(c) repeats (3)")
    ap.add_argument("--real-async", action="store_true",
                    help="(c) also the real classifier behind the latency (CPU-bound here)")
    ap.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads (1)")
    args = ap.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")]
    if cv2 is None:
        skip("OpenCV's Python module (python3-opencv) is missing")
    if not (bench_real.DATA / "images.json").is_file():
        skip(f"{bench_real.DATA} (the real-model set) is absent")
    try:
        import PIL  # noqa: F401
    except ImportError:
        skip("PIL (python3-pil) is missing: the set's preparation needs it")
    cv2.setNumThreads(args.threads)
    model = Counted(bench_real.Model(bench_real.DATA / "mobilenet_v1_025_224.onnx"))
    t0, ok = time.perf_counter(), True
    parts = set(args.parts.split(","))
    if "a" in parts:
        ok &= part_a(model, args)
    if "b" in parts:
        ok &= part_b(model, args)
    if "c" in parts:
        ok &= part_c(model, args)
    print(f"\nbench_many: {time.perf_counter() - t0:.0f} s, OpenCV threads {args.threads}",
          file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
