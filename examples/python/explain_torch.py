#!/usr/bin/python3
"""explain_torch.py - explains a PyTorch classifier's decision with libdecam.

    explain_torch.py IMAGE [-w shapes.weights] [-o panel.png] [options]
    explain_torch.py IMAGE --torchscript model.pt --size 224 \
        --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 -o panel.png

The model is the project's shapes classifier ported to PyTorch (ShapesNet,
loading examples/shapes/shapes.weights), or any TorchScript classifier
(torch.jit.save of a scripted or traced module) taking (n, 3, H, W).
scorer() turns any nn.Module into a model for decam.Explainer: batched,
under torch.no_grad(), and with no copy of the library's images on the CPU.
Writes image | map | overlay as a PNG with the library's own renderer.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import decam  # the installed package (pip install .)
except ImportError:  # run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lib" / "python"))
    import decam  # noqa: E402
import shapes_weights  # noqa: E402

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "shapes" / "shapes.weights"


class ShapesNet(nn.Module):
    """The shapes CNN of examples/shapes/cnn.c: (n, 3, S, S) in [0,1] -> logits."""

    def __init__(self, w):
        super().__init__()
        self.size = w.size
        self.register_buffer("shift", torch.tensor(w.shift, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(w.scale, dtype=torch.float32))
        layers = []
        for conv in w.convs:
            c = nn.Conv2d(conv.weight.shape[1], conv.weight.shape[0], 3, padding=1)
            c.weight.data = torch.from_numpy(conv.weight)
            c.bias.data = torch.from_numpy(conv.bias)
            layers += [c, nn.ReLU()] + ([nn.MaxPool2d(2)] if conv.pool else [])
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(w.dense_weight.shape[1], w.classes)
        self.classifier.weight.data = torch.from_numpy(w.dense_weight)
        self.classifier.bias.data = torch.from_numpy(w.dense_bias)

    def forward(self, x):
        x = self.features((x - self.shift) * self.scale)
        return self.classifier(x.mean(dim=(2, 3)))

    @classmethod
    def load(cls, path):
        return cls(shapes_weights.read(path)).eval()


def scorer(module, softmax=True, mean=None, std=None, device="cpu"):
    """A model for decam.Explainer(..., layout="chw") from any classifier
    module taking (n, C, H, W): class probabilities (or the raw outputs
    with softmax=False), inputs normalised by mean/std per channel if given."""
    module = module.to(device).eval()
    mean = None if mean is None else torch.tensor(mean, device=device).view(1, -1, 1, 1)
    std = None if std is None else torch.tensor(std, device=device).view(1, -1, 1, 1)

    def model(batch):
        with warnings.catch_warnings():
            # the batch is the library's read-only buffer; torch only reads it
            warnings.simplefilter("ignore", UserWarning)
            x = torch.from_numpy(batch).to(device)
        with torch.no_grad():
            if mean is not None:
                x = x - mean
            if std is not None:
                x = x / std
            out = module(x)
            return (out.softmax(dim=1) if softmax else out).cpu().numpy()

    return model


def triple(text):
    values = [float(v) for v in text.split(",")]
    if len(values) not in (1, 3):
        raise argparse.ArgumentTypeError("give 1 or 3 comma-separated numbers")
    return values * (3 // len(values))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("image", help="PNG or JPEG file")
    ap.add_argument("-w", "--weights", default=str(DEFAULT_WEIGHTS),
                    help="shapes classifier weights (default: %(default)s)")
    ap.add_argument("--torchscript", help="a TorchScript classifier instead of the shapes one")
    ap.add_argument("--size", type=int, help="model input side (TorchScript; default 224)")
    ap.add_argument("--mean", type=triple, help="per-channel mean subtracted (R,G,B)")
    ap.add_argument("--std", type=triple, help="per-channel std divided by (R,G,B)")
    ap.add_argument("--logits", action="store_true", help="explain raw outputs, not softmax")
    ap.add_argument("-o", "--output", default="explain_torch.png", help="panel PNG")
    ap.add_argument("-t", "--target", type=int, help="class (default: the predicted one)")
    ap.add_argument("-m", "--method", default="decam", choices=decam.ENUMS["method"])
    ap.add_argument("-b", "--budget", type=int, default=1000, help="model queries")
    ap.add_argument("-s", "--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=0, help="images per forward (0: generation)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    a = ap.parse_args(argv)

    if a.torchscript:
        module, side = torch.jit.load(a.torchscript, map_location="cpu"), a.size or 224
    else:
        module = ShapesNet.load(a.weights)
        side = module.size

    # The model's input: the file centre-cropped to a square, resized.
    image = decam.load_image(a.image)
    h, w, _ = image.shape
    crop = min(h, w)
    image = image[(h - crop) // 2:(h - crop) // 2 + crop, (w - crop) // 2:(w - crop) // 2 + crop]
    image = decam.resize(image, side, side)

    model = scorer(module, softmax=not a.logits, mean=a.mean, std=a.std)
    with decam.Explainer(model, layout="chw", method=a.method, budget=a.budget, seed=a.seed,
                         batch_size=a.batch, progress=not a.quiet and sys.stderr.isatty()) as ex:
        chw = np.ascontiguousarray(image.transpose(2, 0, 1))
        saliency = ex.explain(chw, a.target)
        stats, target = ex.stats, int(ex.get_param("target"))

    big = max(1, 256 // side)  # a panel a person can see
    panel = decam.render_panel(decam.resize(image, big * side, big * side, area=False),
                               decam.resize(saliency, big * side, big * side, area=False)[..., 0])
    decam.save_image(a.output, panel)
    y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
    print(f"target {target} score {stats.score_full:.6f}")
    print(f"queries {stats.queries} in {stats.model_calls} model calls, "
          f"{stats.model_seconds + stats.library_seconds:.2f} s "
          f"({stats.model_seconds:.2f} s in the model)")
    print(f"peak x {x} y {y}")
    print(f"panel {a.output}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (decam.DecamError, OSError, ValueError) as e:
        sys.exit(f"explain_torch.py: {e}")
