#!/usr/bin/env python3
"""async_client.py - explains images with a classifier that lives behind an
inference server (onnx_server.py), several at once.

    python3 examples/python/onnx_server.py --model examples/real/mobilenet_v1_025_224.onnx --port 8000 &
    python3 examples/python/async_client.py --url http://127.0.0.1:8000 --labels examples/real/labels.txt examples/real/*.jpg

RemoteModel is the model: an `async def` from a batch (n, 3, 224, 224) to
the server's scores (n, 1000), over HTTP with asyncio's streams (standard
library only). Explainer.explain_async() awaits it for every batch, so the
explanations gathered here wait for the server together: while one
waits for its scores, the others send theirs. Prints per image the class
explained, its score, where the map peaks, and the total time.
"""
import argparse
import asyncio
import io
import os
import sys
import time
import urllib.parse
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lib" / "python"))
import decam  # noqa: E402  (the source tree's, or the installed package)


class RemoteModel:
    """An async model scored by onnx_server.py at `url` (http://127.0.0.1:PORT).
    Each call POSTs the batch as a .npy file to /score and returns the
    reply's array; a reply other than 200 raises RuntimeError with the
    server's line, and a call that takes longer than `timeout` seconds
    raises asyncio.TimeoutError (TimeoutError)."""

    def __init__(self, url, timeout=120.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{url!r}: expected http://HOST:PORT")
        self.host, self.port = parts.hostname, parts.port or 80
        self.path = parts.path.rstrip("/") + "/score"
        self.timeout = timeout
        self.calls = self.images = 0

    async def __call__(self, batch):
        out = io.BytesIO()  # serialised before the first await: the batch is a
        np.save(out, np.ascontiguousarray(batch, np.float32), allow_pickle=False)  # view
        self.calls += 1
        self.images += len(batch)
        return await asyncio.wait_for(self.post(out.getvalue()), self.timeout)

    async def post(self, body):
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write((f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          "Content-Type: application/octet-stream\r\n"
                          f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
                         + body)
            await writer.drain()
            status = (await reader.readline()).decode("latin-1").split(None, 2)
            headers = {}
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            data = await reader.readexactly(int(headers.get("content-length", "0")))
        finally:
            writer.close()
            await writer.wait_closed()
        if len(status) < 2 or status[1] != "200":
            raise RuntimeError(f"the server answered {' '.join(status[1:]).strip() or 'nothing'}:"
                               f" {data.decode(errors='replace').strip()}")
        return np.load(io.BytesIO(data), allow_pickle=False)


def prepare(path, side=224):
    """As the real-model set's classifier expects an image: RGB, the shorter
    side to 256, the centre 224 x 224, [0, 1], (3, 224, 224)."""
    image = decam.load_image(path, 3)
    h, w = image.shape[:2]
    scale = 256 / min(h, w)
    nw, nh = max(round(w * scale), side), max(round(h * scale), side)
    image = decam.resize(image, nw, nh, area=False)
    y, x = (nh - side) // 2, (nw - side) // 2
    return np.ascontiguousarray(image[y:y + side, x:x + side].transpose(2, 0, 1))


async def top_classes(images, model):
    """Each image's top class and its score: one call per image."""
    scores = await asyncio.gather(*(model(img[None]) for img in images))
    return [(int(s.argmax()), float(s.max())) for s in scores]


async def explain_all(images, classes, model, budget, seed):
    """The maps of every image's class, all explained at once."""
    with decam.Explainer(model, layout="chw", budget=budget, seed=seed) as ex:
        return await asyncio.gather(*(ex.explain_async(img, model, targets=cls)
                                      for img, cls in zip(images, classes)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("images", nargs="+", help="PNG or JPEG files")
    ap.add_argument("--url", default="http://127.0.0.1:8000", help="the server (onnx_server.py)")
    ap.add_argument("--budget", type=int, default=500, help="queries per image (default 500)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--labels", help="labels.txt (one class a line) to name the classes")
    args = ap.parse_args()
    names = Path(args.labels).read_text().splitlines() if args.labels else None
    images = [prepare(p) for p in args.images]
    model = RemoteModel(args.url)
    t0 = time.perf_counter()
    tops = asyncio.run(top_classes(images, model))
    maps = asyncio.run(explain_all(images, [c for c, _ in tops], model, args.budget, args.seed))
    seconds = time.perf_counter() - t0
    for path, (cls, p), m in zip(args.images, tops, maps):
        y, x = np.unravel_index(m.argmax(), m.shape)
        label = names[cls].split(" ", 1)[-1] if names else f"class {cls}"
        print(f"{os.path.basename(path)}: {label} (p {p:.3f}), peak at ({x}, {y})")
    print(f"{len(images)} images, {model.calls} server calls, {model.images} images scored, "
          f"{seconds:.1f} s")

if __name__ == "__main__":
    main()
