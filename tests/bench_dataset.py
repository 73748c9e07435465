"""bench_dataset.py - images per second explaining real photographs with
decam.dataset: serially, and on a Dask LocalCluster of 1 and 2 worker
processes (one thread each) on 127.0.0.1; the Dask path's overhead is its
time against the serial time with as many workers as the serial run has
processes (1).

    /usr/bin/python3 tests/bench_dataset.py [--images 16] [--budget 500]
        [--repeats 3] [--realdata ../shared/realdata]

The model is the ONNX classifier of shared/realdata through OpenCV's DNN
module (one OpenCV thread per process, so that workers do not share cores
through it). Prints a Markdown table of medians over the repeats; every
run writes into a fresh temporary folder, so nothing is resumed.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "lib" / "python"), str(HERE / "python")]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(HERE.parent / "lib" / "python"), str(HERE / "python"), os.environ.get("PYTHONPATH", "")])

import dataset_models  # noqa: E402
from decam.dataset import explain_paths  # noqa: E402


def one_thread_mobilenet():
    import cv2
    cv2.setNumThreads(1)
    return dataset_models.mobilenet()


def timed(paths, truth, params, client=None):
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        explain_paths(paths, one_thread_mobilenet, out, client=client, target=truth,
                      prepare=dataset_models.imagenet_prepare, params=params)
        return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--realdata", type=Path, default=dataset_models.REALDATA)
    a = ap.parse_args()
    listing = json.loads((a.realdata / "images.json").read_text())[:a.images]
    paths = [str(a.realdata / e["file"]) for e in listing]
    truth = {p: e["class_index"] for p, e in zip(paths, listing)}
    params = {"budget": a.budget, "threads": 1}

    from distributed import Client, LocalCluster
    rows = {"serial (this process)": []}
    clusters = {}
    for workers in (1, 2):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:0",
                               silence_logs=40)
        clusters[workers] = (cluster, Client(cluster))
        rows[f"Dask, {workers} worker{'s' if workers > 1 else ''}"] = []
        timed(paths[:2], truth, params, clusters[workers][1])  # workers build their models
    timed(paths[:2], truth, params)
    # Interleaved repeats: a load change on the machine hits every setting.
    for _ in range(a.repeats):
        rows["serial (this process)"].append(timed(paths, truth, params))
        for workers, (_, client) in clusters.items():
            name = f"Dask, {workers} worker{'s' if workers > 1 else ''}"
            rows[name].append(timed(paths, truth, params, client))
    for cluster, client in clusters.values():
        client.close()
        cluster.close()

    serial = statistics.median(rows["serial (this process)"])
    print(f"{a.images} images of shared/realdata, {a.budget} queries each (DE-CAM defaults, "
          f"true class), median of {a.repeats} runs, {os.cpu_count()} cores\n")
    print("| how | seconds | images per second | time against serial |")
    print("|---|---|---|---|")
    for name, times in rows.items():
        t = statistics.median(times)
        print(f"| {name} | {t:.2f} | {a.images / t:.2f} | {t / serial:.3f} |")


if __name__ == "__main__":
    main()
