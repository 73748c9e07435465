"""The planted-region model of tests/planted.h, ported to NumPy so that it
gives bit-identical scores: the score depends only on a hidden rectangle."""
import numpy as np

PW = PH = 64
PC = 3
_MASK = (1 << 64) - 1


class Planted:
    """planted_make(): the rectangle and the image, for a seed and a layout."""

    def __init__(self, seed, nonlinear=False, layout="hwc"):
        s = (seed * 2654435761 + 1) & _MASK

        def rand():
            nonlocal s
            s = (s * 6364136223846793005 + 1442695040888963407) & _MASK
            return s >> 33

        w, h = 12 + rand() % 17, 12 + rand() % 17
        self.x0, self.y0 = rand() % (PW - w + 1), rand() % (PH - h + 1)
        self.x1, self.y1 = self.x0 + w, self.y0 + h
        self.nonlinear, self.layout = nonlinear, layout
        # float32 arithmetic, one rounding per operation as in C (no FMA)
        u = np.array([rand() % 1000 for _ in range(PW * PH * PC)], np.float32)
        u = (u / np.float32(1000)).reshape(PH, PW, PC)
        image = np.float32(0.3) * u
        inside = np.float32(0.6) + np.float32(0.4) * u[self.y0:self.y1, self.x0:self.x1, 0]
        image[self.y0:self.y1, self.x0:self.x1, 0] = inside
        self.image = image if layout == "hwc" else np.ascontiguousarray(image.transpose(2, 0, 1))
        self.truth = np.zeros((PH, PW), np.uint8)
        self.truth[self.y0:self.y1, self.x0:self.x1] = 1

    def __call__(self, batch):
        """planted_model(): mean red (or share of red > 0.5) in the rectangle.
        The C code sums in double, row by row; cumsum keeps that order (a
        pairwise np.sum could differ in the last bit)."""
        if self.layout == "hwc":
            red = batch[:, self.y0:self.y1, self.x0:self.x1, 0]
        else:
            red = batch[:, 0, self.y0:self.y1, self.x0:self.x1]
        red = red.reshape(len(batch), -1)
        if self.nonlinear:
            acc = (red > np.float32(0.5)).sum(axis=1).astype(np.float64)
        else:
            acc = np.cumsum(red.astype(np.float64), axis=1)[:, -1]
        return (acc / red.shape[1]).astype(np.float32)
