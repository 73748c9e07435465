#!/usr/bin/env python3
"""bench_boxes.py - what the model and a map say of one region of a
real-model image (../shared/realdata, prepared as tests/bench_real.py
prepares it; docs/method.md section 10, "What the maps look like").

    python3 tests/bench_boxes.py POSITION X0,X1,Y0,Y1 [X0,X1,Y0,Y1 ...] [--budget 500]

For each box (pixels of the 224 x 224 crop, end exclusive) it prints the
box's median rank in DE-CAM's map at its defaults (0 the least salient
pixel, 1 the most; the image at 1-based POSITION in images.json is
explained with seed POSITION - 1, as bench_real.py does), and the
true-class probability of the image unchanged, with the box replaced by
the library's default blur (sigma 16) or by black, and with only the box
kept on the blur."""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_real as br  # noqa: E402  (the same data, model and preparation)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("position", type=int)
    ap.add_argument("boxes", nargs="+", type=br.ints)
    ap.add_argument("--budget", type=int, default=500)
    args = ap.parse_args()
    if not (br.DATA / "images.json").is_file():
        br.skip(f"{br.DATA} (the real-model set) is absent")
    if br.cv2 is None or br.np is None:
        br.skip("OpenCV's and NumPy's Python modules (python3-opencv, python3-numpy) are needed")
    import json
    import numpy as np
    sys.path.insert(0, str(br.SRC / "lib" / "python"))
    import decam
    entry = json.load(open(br.DATA / "images.json"))[args.position - 1]
    image, label = br.prepare(br.DATA / entry["file"]), entry["class_index"]
    br.cv2.setNumThreads(1)
    model = br.Model(br.DATA / "mobilenet_v1_025_224.onnx")
    with decam.Explainer(model, layout="chw", n_outputs=1000, seed=args.position - 1) as ex:
        ex.set_param("budget", args.budget)
        saliency = ex.explain(image, target=label)
    rank = (saliency.ravel().argsort().argsort() / (saliency.size - 1)).reshape(saliency.shape)
    blur = np.stack([br.cv2.GaussianBlur(c, (0, 0), 16) for c in image])
    black = np.zeros_like(image)

    def p(im):
        return float(model(im[None])[0, label])

    print(f"{args.position} {entry['class_name']}: p = {p(image):.3f}")
    for x0, x1, y0, y1 in args.boxes:
        box = (slice(None), slice(y0, y1), slice(x0, x1))
        blurred, blacked, kept = image.copy(), image.copy(), blur.copy()
        blurred[box], blacked[box], kept[box] = blur[box], black[box], image[box]
        print(f"  box x {x0}-{x1}, y {y0}-{y1}: median rank {np.median(rank[y0:y1, x0:x1]):.2f}, "
              f"p blurred {p(blurred):.3f}, black {p(blacked):.3f}, only it kept {p(kept):.3f}")


if __name__ == "__main__":
    main()
