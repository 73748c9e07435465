"""Models and preparation for test_dataset.py, in a module of their own so
that Dask's worker processes import them by name."""
import os
from pathlib import Path

import numpy as np

REALDATA = Path(os.environ.get("DECAM_REALDATA", Path(__file__).resolve().parents[3] /
                               "shared" / "realdata"))
BUILT = []  # models this process built: the factory runs once per process


def square_model():
    """Scores the mean of the red channel in a fixed square."""
    BUILT.append("square")

    def model(batch):
        return batch[:, 8:20, 12:24, 0].mean(axis=(1, 2))
    return model


def failing_factory():
    raise AssertionError("the model was built although every image was done")


def mobilenet():
    """The real classifier of shared/realdata through OpenCV's DNN module:
    (n, 224, 224, 3) RGB in [0, 1] -> (n, 1000) probabilities."""
    import cv2
    net = cv2.dnn.readNetFromONNX(str(REALDATA / "mobilenet_v1_025_224.onnx"))

    def model(batch):
        net.setInput(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))
        return net.forward()
    return model


def imagenet_prepare(path):
    """As the classifier was trained: shorter side 256 (bilinear), centre
    crop 224."""
    import decam
    image = decam.load_image(path, 3)
    h, w = image.shape[:2]
    scale = 256 / min(h, w)
    nw, nh = max(round(w * scale), 224), max(round(h * scale), 224)
    image = decam.resize(image, nw, nh, area=False)
    y, x = (nh - 224) // 2, (nw - 224) // 2
    return np.ascontiguousarray(image[y:y + 224, x:x + 224])


class _Stateful:
    """A model with per-call state, as OpenCV's net.setInput() then
    net.forward(): two threads sharing one score each other's batch."""

    def __init__(self):
        self.batch, self.owner = None, None

    def set_input(self, batch):
        import threading
        self.owner = threading.get_ident()
        self.batch = np.array(batch)

    def forward(self):
        import threading
        import time
        time.sleep(0.0005)  # room for another thread's set_input()
        if self.owner != threading.get_ident():
            raise RuntimeError("another thread's set_input() came in between: the model "
                               "is shared by threads")
        return self.batch[:, 8:20, 12:24, 0].mean(axis=(1, 2))


def stateful_model():
    net = _Stateful()

    def model(batch):
        net.set_input(batch)
        return net.forward()
    return model
