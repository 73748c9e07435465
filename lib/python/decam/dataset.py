"""Explaining a collection of images: serially, or on a Dask cluster.

    from decam.dataset import explain_paths

    def make_model():                  # runs once per worker thread
        net = cv2.dnn.readNetFromONNX("net.onnx")
        def model(batch):              # (n, H, W, 3) float32 -> (n, k)
            net.setInput(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))
            return net.forward()
        return model

    records = explain_paths(paths, make_model, "out/", prepare=my_prepare,
                            params={"budget": 500})                # serial
    records = explain_paths(paths, make_model, "out/", size=(224, 224),
                            client=Client(...))

Every image is seeded by its own identity (its path as given, mixed with
`seed`), so its map does not depend on which worker explains it, in which
order or in which partition: the Dask run and the serial run write the same
bytes. Each image's outputs are `<name>.npy` (the map, float32 (H, W)),
`<name>.png` (image | map | overlay) and `<name>.json` (its record). <name>
is the image's path relative to the folder that holds all the inputs (their
common parent), extension kept, as decam-explain names its outputs:
`in/cat.png` and `in/cat.jpg` give `cat.png.npy` and `cat.jpg.npy`,
`in/a/b.png` gives `a/b.png.npy` (in a subfolder of out_dir). Inputs that
would still share a name (one path given twice) are refused with ValueError
before anything is explained. The record is written last, by rename, so an
image counts as done only when all three exist. `resume=True` skips those.
`summary.jsonl` lists every record in input order, with the record
{"image", "error"} of each image that failed (the others go on).

The model's input size is the caller's to state: `size=(W, H)` resizes each
image to it, `size="any"` keeps each image's own size, or `prepare=` makes
the image; without one of them explain_paths() raises ValueError.
"""
import hashlib
import json
import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["explain_paths", "image_seed", "output_name", "output_names"]

# Models built by a factory, per thread: a Dask worker running several
# threads gives each its own model, since models may keep per-call state
# (OpenCV's setInput()/forward()); a thread builds each model once.
_MODELS = threading.local()


def image_seed(identity, seed=0):
    """The seed of one image: a hash of its identity and the run's seed,
    below 2**53 (what the library's seed parameter accepts exactly)."""
    digest = hashlib.sha256(f"{int(seed)}\0{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 11


def _absolute(identity):
    return os.path.abspath(str(identity))


def output_name(identity, root=None):
    """The file stem of an image's outputs: its path relative to `root`
    (default: its own folder, leaving the file name), extension kept,
    folders separated by "/", control characters replaced by "_"."""
    path = _absolute(identity)
    rel = os.path.relpath(path, _absolute(root) if root is not None else os.path.dirname(path))
    parts = [p for p in rel.split(os.sep) if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"{identity!r} does not lie below {root!r}")
    name = "/".join(parts)
    return "".join("_" if ord(c) < 32 or ord(c) == 127 else c for c in name) or "image"


def output_names(identities):
    """The output name of each identity (output_name()), relative to their
    common parent folder. Raises ValueError when two would share a name,
    naming both."""
    identities = [str(i) for i in identities]
    if not identities:
        return []
    root = os.path.commonpath([os.path.dirname(_absolute(i)) for i in identities])
    names, seen = [], {}
    for identity in identities:
        name = output_name(identity, root)
        if name in seen:
            raise ValueError(f"{seen[name]!r} and {identity!r} would both write the outputs "
                             f"named {name!r} ({name}.npy, .png, .json): give each image once")
        seen[name] = identity
        names.append(name)
    return names


def _model(factory):
    """The model of `factory` in this thread, built on its first use there.
    A task receives its own unpickled copy of the factory, so the cache is
    keyed by the factory's pickled bytes, not by the object."""
    try:
        import cloudpickle
        key = hashlib.sha256(cloudpickle.dumps(factory)).hexdigest()
    except Exception:  # not picklable: only the serial path can have it
        key = id(factory)
    models = getattr(_MODELS, "models", None)
    if models is None:
        models = _MODELS.models = {}
    if key not in models:
        models[key] = factory()
    return models[key]


def _target_of(target, identity):
    if target is None or target == "top":
        return None
    if callable(target):
        return target(identity)
    if isinstance(target, dict):
        return target[identity]
    return int(target)


def _default_prepare(path):
    from decam import load_image
    return load_image(path, 3)


def _prepared(identity, prepare, size):
    """The image the model takes: prepare's (default load_image(path, 3)),
    resized to size = (W, H) unless size is "any"."""
    import decam
    image = (prepare or _default_prepare)(identity)
    if size != "any":
        width, height = size
        image = np.asarray(image)
        if image.shape[:2] != (height, width):
            image = decam.resize(image, width, height)
    return image


def _write_atomic(path, write):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _explain_one(explainer, identity, name, image, target, seed, metrics, out):
    import decam
    explainer.set_param("seed", image_seed(identity, seed))
    start = time.monotonic()
    saliency = explainer.explain(image, _target_of(target, identity))
    seconds = time.monotonic() - start
    stats = explainer.stats
    record = {"image": str(identity), "target": int(explainer.get_param("target")),
              "score": float(stats.score_full), "queries": int(stats.queries),
              "seconds": round(seconds, 4), "seed": image_seed(identity, seed)}
    if metrics:
        m = explainer.evaluate(image, saliency, target=record["target"])
        record["deletion_auc"] = float(m.deletion_auc)
        record["insertion_auc"] = float(m.insertion_auc)
    if out is None:
        record["saliency"] = saliency
        return record
    record["map"], record["panel"] = f"{name}.npy", f"{name}.png"
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    with open(out / record["map"], "wb") as f:
        np.save(f, saliency)
    panel = decam.render_panel(image, saliency)
    decam.save_image(out / record["panel"], panel)
    # The record last, by rename: an image is done when its record exists.
    _write_atomic(out / f"{name}.json",
                  lambda p: p.write_text(json.dumps(record, sort_keys=True) + "\n"))
    return record


def _explain_partition(items, factory, out_dir, prepare, size, target, params, seed, metrics,
                       resume):
    """Explains a list of (identity, name) images in this thread, with one
    model and one explainer for all of them. Returns their records in the
    same order."""
    import decam
    out = Path(out_dir) if out_dir is not None else None
    records, explainer = [], None
    try:
        for identity, name in items:
            done = out / f"{name}.json" if out is not None else None
            if resume and done is not None and done.exists():
                record = json.loads(done.read_text())
                if record.get("image") == identity:  # not another run's image of that name
                    records.append(record)
                    continue
            if explainer is None:
                explainer = decam.Explainer(_model(factory), **params)
            try:
                image = _prepared(identity, prepare, size)
                records.append(_explain_one(explainer, identity, name, image, target, seed,
                                            metrics, out))
            except Exception as e:  # this image alone: recorded, and the others go on
                records.append({"image": identity, "error": f"{type(e).__name__}: {e}"})
    finally:
        if explainer is not None:
            explainer.close()
    return records


def explain_paths(paths, model_factory, out_dir=None, *, client=None, prepare=None,
                  size=None, target="top", params=None, seed=0, metrics=False, resume=True,
                  partitions=None):
    """Explains every image of `paths` and returns their records, in order.

    paths          image paths (or any identities `prepare` understands);
                   each one's seed comes from it (image_seed).
    model_factory  a picklable callable with no arguments returning the model
                   (as decam.Explainer takes it); each thread that explains
                   images calls it once, so that no two threads share a
                   model (a model may keep state between calls).
    out_dir        where the maps, panels, records and summary.jsonl go
                   (created); None returns each map in its record instead
                   ("saliency", (H, W) float32) and writes nothing.
    client         a dask.distributed Client: its workers explain the images
                   (pass Client("tcp://host:8786") for an existing
                   scheduler); None explains them in this process.
    prepare        path -> float32 image (H, W, C) the model takes; default
                   decam.load_image(path, 3).
    size           (W, H), the input size the model takes: each image
                   (prepare's, or the default's) of another size is resized
                   to it (decam.resize); "any" explains each at its own size,
                   for a model that takes any size. Without prepare, size is
                   required, so that no model is fed a size it was not made
                   for without being told.
    target         "top" (the model's top output), an int, a dict
                   {path: int}, or a callable path -> int.
    params         parameters of the explainer by name (budget, method, ...).
    seed           mixed into every image's seed.
    metrics        True adds deletion and insertion AUC (decam_evaluate).
    resume         True skips images whose record exists in out_dir.

    An image that fails (unreadable, corrupt, the model raises) gets the
    record {"image": path, "error": "Type: message"} (no files; a resumed
    run tries it again) and the others go on; a warning counts the
    failures. KeyboardInterrupt and the model factory's errors stop the run.
    partitions     how many tasks the paths are split into (default: four
                   per worker); the results do not depend on it.
    """
    paths = [str(p) for p in paths]
    names = output_names(paths)  # ValueError for two images of one name, before any work
    params = dict(params or {})
    if size is None and prepare is None:
        raise ValueError("give the input size the model takes, size=(W, H) (each image is "
                         "resized to it), or size='any' for a model that takes any size, or "
                         "prepare= (path -> the image the model takes)")
    if size is not None and size != "any":
        if (isinstance(size, str) or len(size) != 2 or
                not all(isinstance(v, (int, np.integer)) and v > 0 for v in size)):
            raise ValueError(f"size must be (width, height) in pixels or 'any', not {size!r}")
        size = (int(size[0]), int(size[1]))
    elif size is None:
        size = "any"  # prepare= makes the image the model takes
    if "seed" in params:
        raise ValueError("give the run's seed as seed=, not in params: each image's seed "
                         "is derived from it")
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        out_dir = str(Path(out_dir).resolve())
    args = (model_factory, out_dir, prepare, size, target, params, seed, metrics, resume)
    if client is None:
        records = _explain_partition(list(zip(paths, names)), *args)
    else:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        n = partitions or min(len(paths), 4 * workers) or 1
        items = list(zip(paths, names))
        chunks = [items[i::n] for i in range(n)]  # interleaved: even work per task
        futures = client.map(_explain_partition, chunks, *[[a] * n for a in args],
                             pure=False)
        done = client.gather(futures)
        by_identity = {r["image"]: r for part in done for r in part}
        records = [by_identity[p] for p in paths]
    failed = [r for r in records if "error" in r]
    if failed:
        warnings.warn(f"{len(failed)} of {len(records)} images failed (their records hold "
                      f"the error), the first: {failed[0]['image']}: {failed[0]['error']}",
                      RuntimeWarning, stacklevel=2)
    if out_dir is not None:
        summary = Path(out_dir) / "summary.jsonl"
        lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
        _write_atomic(summary, lambda p: p.write_text(lines))
    return records
