"""decam.dataset: a folder of images explained serially and on a Dask
cluster (a distributed.LocalCluster of two worker processes on 127.0.0.1,
started and stopped here) gives the same maps and records; resume skips
what is done; each image's seed is its own. Needs NumPy and, for the
cluster, python3-dask and python3-distributed; the real-model case needs
../shared/realdata and python3-opencv."""
import json
import os
import sys
import tempfile
import unittest
from pathlib import Path

from test_binding import NO_IO, SRC

NO_DASK = NO_IO
if not NO_DASK:
    try:
        import distributed  # noqa: F401
    except ImportError:
        NO_DASK = "python3-distributed is not installed"
if not NO_IO:
    import numpy as np

    import dataset_models
    import decam
    from decam.dataset import explain_paths, image_seed, output_name, output_names
NO_REAL = NO_DASK
if not NO_REAL:
    if not (dataset_models.REALDATA / "images.json").exists():
        NO_REAL = f"{dataset_models.REALDATA} is not there"
    else:
        try:
            import cv2  # noqa: F401
        except ImportError:
            NO_REAL = "python3-opencv is not installed"

PARAMS = {"budget": 240, "grid_width": 5, "grid_height": 5, "threads": 1}


def write_images(folder, n):
    """n small scenes with a bright square, some in a subfolder."""
    rng = np.random.default_rng(5)
    paths = []
    for i in range(n):
        image = (0.3 * rng.random((32, 36, 3))).astype(np.float32)
        image[8:20, 12:24, 0] += 0.6
        path = folder / ("sub" if i % 2 else "") / f"scene{i}.png"
        path.parent.mkdir(exist_ok=True)
        decam.save_image(path, (image * 255).round().astype(np.uint8))
        paths.append(str(path))
    return paths


def outputs(folder):
    """Every output file's bytes, records without their timings."""
    found = {}
    for p in sorted(Path(folder).rglob("*")):
        name = str(p.relative_to(folder))
        if p.is_dir():
            continue
        if p.suffix == ".json":
            record = json.loads(p.read_text())
            record.pop("seconds")
            found[name] = record
        elif p.suffix == ".jsonl":
            found[name] = [{k: v for k, v in json.loads(line).items() if k != "seconds"}
                           for line in p.read_text().splitlines()]
        else:
            found[name] = p.read_bytes()
    return found


class Cluster:
    """A LocalCluster of two single-thread worker processes on 127.0.0.1."""

    def __enter__(self):
        from distributed import Client, LocalCluster
        # The workers import the test's models and the package by name.
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(Path(dataset_models.__file__).parent), str(SRC / "lib" / "python"),
             os.environ.get("PYTHONPATH", "")])
        self.cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                    silence_logs=40)
        self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        self.cluster.close()


@unittest.skipIf(NO_IO, NO_IO)
class Serial(unittest.TestCase):
    def test_seeds_come_from_the_identity(self):
        self.assertEqual(image_seed("a/b.png", 3), image_seed("a/b.png", 3))
        self.assertNotEqual(image_seed("a/b.png"), image_seed("a/c.png"))
        self.assertNotEqual(image_seed("a/b.png", 0), image_seed("a/b.png", 1))
        self.assertLess(image_seed("x" * 100), 2 ** 53)
        self.assertEqual(output_name("/data/sub/cat 1.JPEG"), "cat 1.JPEG")
        self.assertEqual(output_name("/data/sub/cat 1.JPEG", "/data"), "sub/cat 1.JPEG")
        self.assertEqual(output_names(["/d/in/a.png", "/d/in/sub/a.png"]), ["a.png", "sub/a.png"])

    def test_folder_outputs_summary_and_resume(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            paths = write_images(tmp / "in", 4)
            records = explain_paths(paths, dataset_models.square_model, tmp / "out",
                                    params=PARAMS, size="any", metrics=True)
            self.assertEqual([r["image"] for r in records], paths)
            for r in records:
                saliency = np.load(tmp / "out" / r["map"])
                self.assertEqual(saliency.shape, (32, 36))
                y, x = np.unravel_index(saliency.argmax(), saliency.shape)
                self.assertTrue(6 <= y < 22 and 10 <= x < 26, f"the peak {(y, x)} is off the square")
                self.assertEqual(decam.load_image(tmp / "out" / r["panel"]).shape, (32, 108, 3))
                self.assertLess(r["deletion_auc"], r["insertion_auc"])
                self.assertEqual(r["queries"], 240)
            summary = (tmp / "out" / "summary.jsonl").read_text().splitlines()
            self.assertEqual([json.loads(s)["image"] for s in summary], paths)
            before = outputs(tmp / "out")

            # Everything done: the model is not even built.
            again = explain_paths(paths, dataset_models.failing_factory, tmp / "out",
                                  params=PARAMS, size="any", metrics=True)
            self.assertEqual([r["image"] for r in again], paths)
            # One record gone: that image alone is explained again, identically.
            (tmp / "out" / f"{output_names(paths)[2]}.json").unlink()
            dataset_models.BUILT.clear()
            explain_paths(paths, dataset_models.square_model, tmp / "out", params=PARAMS,
                          size="any",
                          metrics=True)
            self.assertEqual(outputs(tmp / "out"), before)

    def test_every_image_has_outputs_of_its_own(self):
        # Names keep the extension and the folders below the inputs' common
        # parent: cat.png and cat.jpg, a/b.png and a_b.png are four images.
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            rng = np.random.default_rng(1)
            paths = []
            for rel in ("cat.png", "cat.jpg", "a/b.png", "a_b.png"):
                image = (0.3 * rng.random((32, 36, 3))).astype(np.float32)
                image[8:20, 12:24, 0] += rng.uniform(0.2, 0.7)
                (tmp / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
                decam.save_image(tmp / "in" / rel, image)
                paths.append(str(tmp / "in" / rel))
            records = explain_paths(paths, dataset_models.square_model, tmp / "out",
                                    params=PARAMS, size="any")
            self.assertEqual([r["image"] for r in records], paths)
            self.assertEqual([r["map"] for r in records],
                             ["cat.png.npy", "cat.jpg.npy", "a/b.png.npy", "a_b.png.npy"])
            self.assertEqual(len({r["score"] for r in records}), 4)
            for r in records:  # not the absolute path: relative to the inputs' folder
                self.assertNotIn(str(tmp), r["map"])
                self.assertEqual(json.loads((tmp / "out" / r["map"].replace(".npy", ".json"))
                                            .read_text())["image"], r["image"])
            # resumed: each image gets its own record back
            again = explain_paths(paths, dataset_models.failing_factory, tmp / "out",
                                  params=PARAMS, size="any")
            self.assertEqual([r["image"] for r in again], paths)
            # what would still share outputs is refused before any work
            with self.assertRaisesRegex(ValueError, "would both write"):
                explain_paths([paths[0], paths[1], paths[0]], dataset_models.failing_factory,
                              tmp / "other", params=PARAMS, size="any")
            self.assertFalse((tmp / "other" / "summary.jsonl").exists())

    def test_a_failing_image_is_recorded_and_the_others_go_on(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            paths = write_images(tmp / "in", 3)
            corrupt = tmp / "in" / "corrupt.png"
            corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really")
            paths.insert(1, str(corrupt))
            with self.assertWarnsRegex(RuntimeWarning, "1 of 4 images failed"):
                records = explain_paths(paths, dataset_models.square_model, tmp / "out",
                                        params=PARAMS, size="any")
            self.assertEqual([r["image"] for r in records], paths)
            self.assertIn("error", records[1])
            self.assertIn("decam_image_load", records[1]["error"])
            self.assertTrue(all("error" not in r and r["queries"] == 240
                                for i, r in enumerate(records) if i != 1))
            summary = [json.loads(line) for line in
                       (tmp / "out" / "summary.jsonl").read_text().splitlines()]
            self.assertEqual([r["image"] for r in summary], paths)
            self.assertEqual(summary[1], records[1])
            self.assertFalse((tmp / "out" / "corrupt.png.json").exists())

    def test_the_models_input_size_is_stated(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = write_images(Path(tmp), 2)  # 36 x 32
            # no prepare and no size: the model would get whatever size the files have
            with self.assertRaisesRegex(ValueError, r"size=\(W, H\)"):
                explain_paths(paths, dataset_models.failing_factory, params=PARAMS)
            records = explain_paths(paths, dataset_models.square_model, params=PARAMS,
                                    size=(40, 30))
            self.assertEqual([r["saliency"].shape for r in records], [(30, 40)] * 2)

    def test_without_a_folder_maps_are_returned(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = write_images(Path(tmp), 2)
            records = explain_paths(paths, dataset_models.square_model, params=PARAMS,
                                    size="any")
            self.assertEqual(records[0]["saliency"].shape, (32, 36))
            self.assertEqual(os.listdir(tmp), ["scene0.png", "sub"])
            with self.assertRaises(ValueError):
                explain_paths(paths, dataset_models.square_model, params={"seed": 1},
                              size="any")


@unittest.skipIf(NO_IO, NO_IO)
class Threads(unittest.TestCase):
    def test_threads_of_one_process_each_get_their_own_model(self):
        # A Dask worker runs its tasks on several threads of one process; a
        # model with per-call state (set_input, then forward) shared by them
        # scores another thread's batch. Four threads, as such a worker.
        import threading
        with tempfile.TemporaryDirectory() as tmp:
            paths = write_images(Path(tmp), 3)
            alone = explain_paths(paths, dataset_models.stateful_model, params=PARAMS,
                                  size="any")
            results, errors = [None] * 4, []

            def run(i):
                try:
                    results[i] = explain_paths(paths, dataset_models.stateful_model,
                                               params=PARAMS, size="any")
                except BaseException as e:
                    errors.append(e)

            threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            for records in results:
                for r, a in zip(records, alone):
                    self.assertEqual(r["saliency"].tobytes(), a["saliency"].tobytes())


@unittest.skipIf(NO_DASK, NO_DASK)
class OnACluster(unittest.TestCase):
    def test_two_workers_write_what_the_serial_run_writes(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            paths = write_images(tmp / "in", 6)
            explain_paths(paths, dataset_models.square_model, tmp / "serial", params=PARAMS,
                          size="any")
            with Cluster() as client:
                explain_paths(paths, dataset_models.square_model, tmp / "dask", client=client,
                              params=PARAMS, size="any", partitions=3)
                # another partitioning, into a third folder
                explain_paths(paths, dataset_models.square_model, tmp / "dask5", client=client,
                              params=PARAMS, size="any", partitions=5)
            serial = outputs(tmp / "serial")
            self.assertEqual(len(serial), 6 * 3 + 1)
            self.assertEqual(outputs(tmp / "dask"), serial)
            self.assertEqual(outputs(tmp / "dask5"), serial)


@unittest.skipIf(NO_REAL, NO_REAL)
class RealModelOnACluster(unittest.TestCase):
    def test_real_classifier_folder_on_two_workers_matches_serial(self):
        listing = json.loads((dataset_models.REALDATA / "images.json").read_text())[:4]
        paths = [str(dataset_models.REALDATA / e["file"]) for e in listing]
        truth = {p: e["class_index"] for p, e in zip(paths, listing)}
        params = {"budget": 200, "threads": 1}
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            serial = explain_paths(paths, dataset_models.mobilenet, tmp / "serial",
                                   prepare=dataset_models.imagenet_prepare, target=truth,
                                   params=params)
            with Cluster() as client:
                explain_paths(paths, dataset_models.mobilenet, tmp / "dask", client=client,
                              prepare=dataset_models.imagenet_prepare, target=truth,
                              params=params)
            self.assertEqual(outputs(tmp / "dask"), outputs(tmp / "serial"))
            for r in serial:
                self.assertEqual(r["target"], truth[r["image"]])
                self.assertGreater(r["score"], 0.05)  # the true class is likely


if __name__ == "__main__":
    sys.exit(unittest.main())
