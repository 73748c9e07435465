"""A model for explaining several images and several targets at once, whose
right answer is known by construction: output j is the mean of channel j
in its own rectangle, placed at fixed fractions of the image, so it works
on images of any size and every target points at a different region. An
image's scores do not depend on the other images of its batch (each row is
summed in order, in double, as tests/planted.h does)."""
import numpy as np

# (y0, y1, x0, x1) as fractions of the height and width, one per output
RECTS = ((0.10, 0.45, 0.10, 0.45), (0.55, 0.90, 0.15, 0.50), (0.20, 0.60, 0.60, 0.95))
SMALL = dict(grid=5, population=12, budget=240)  # 20 model calls an image


def rect(j, h, w):
    y0, y1, x0, x1 = RECTS[j]
    return int(y0 * h), int(y1 * h), int(x0 * w), int(x1 * w)


class Regions:
    """(n, H, W, 3) -> (n, 3), or (n, 3, H, W) with layout="chw". Counts
    its calls and the images it scored; `seen` records the type of each
    batch it received (numpy.ndarray or torch.Tensor)."""

    def __init__(self, layout="hwc"):
        self.chw = layout == "chw"
        self.calls, self.images, self.seen = 0, 0, []

    def __call__(self, batch):
        self.calls += 1
        self.images += len(batch)
        self.seen.append(type(batch).__name__)
        if hasattr(batch, "detach"):
            batch = batch.detach().cpu().numpy()
        n = len(batch)
        h, w = batch.shape[2:] if self.chw else batch.shape[1:3]
        out = np.empty((n, len(RECTS)), np.float32)
        for j in range(len(RECTS)):
            y0, y1, x0, x1 = rect(j, h, w)
            part = batch[:, j, y0:y1, x0:x1] if self.chw else batch[:, y0:y1, x0:x1, j]
            acc = np.cumsum(part.reshape(n, -1).astype(np.float64), axis=1)[:, -1]
            out[:, j] = acc / part[0].size
        return out


def scene(seed, h=48, w=48, layout="hwc"):
    """A dark textured image, each channel bright in its own rectangle
    (output 1 the brightest, then 0, then 2: its top-2 is [1, 0])."""
    rng = np.random.default_rng(seed)
    image = (0.3 * rng.random((h, w, 3))).astype(np.float32)
    for j, gain in enumerate((0.5, 0.6, 0.4)):
        y0, y1, x0, x1 = rect(j, h, w)
        image[y0:y1, x0:x1, j] += gain
    return image if layout == "hwc" else np.ascontiguousarray(image.transpose(2, 0, 1))


def peak_in(saliency, j):
    """Whether the map's maximum lies in output j's rectangle."""
    h, w = saliency.shape
    y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
    y0, y1, x0, x1 = rect(j, h, w)
    return y0 <= y < y1 and x0 <= x < x1
