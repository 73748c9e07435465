"""decam - a Python binding of libdecam over its plain C ABI (ctypes, NumPy).

    import numpy as np, decam

    def model(batch):                      # (n, H, W, C) float32, read-only
        return batch[:, 20:40, 20:40, 0].mean(axis=(1, 2))   # (n,) or (n, k)

    with decam.Explainer(model, grid=7, budget=1000, seed=0) as ex:
        saliency = ex.explain(image)       # (H, W) float32 in [0, 1]
        print(ex.stats.queries, ex.evaluate(image, saliency).deletion_auc)

No compiled extension: the shared library is loaded with ctypes from
$DECAM_LIBRARY, else the copy installed inside this package (`pip install .`
bundles it), else wherever ctypes.util.find_library("decam") finds it (an
installed libdecam), else the usual build directories of this source tree.
Every parameter of decam.h is available by its name (the table is read
from the library at import); enum parameters also take names
(method="rise"). Errors raise DecamError with the library's status and
message; arguments that C would misread (wrong dtype, shape, NaN, a NUL in
a path) raise TypeError or ValueError before reaching it; an exception
raised in a callback (Ctrl-C included) is re-raised as it is.
"""

from . import _binding, _run, adapters, aio, targets  # noqa: F401 (decam.aio etc., as before)
from ._binding import (ENUMS, LIBRARY_PATH, PARAMS, Cancelled, DecamError, Metrics, Param,
                       Progress, Stats, Status)
from .adapters import quantus_explain
from .explainer import Explainer
from .metrics import pointing, rank_correlation
from .render import load_image, overlay, render_panel, resize, save_image
from .targets import Detection, DenseLayout, DetectionLayout, Region, Similarity

__all__ = ["Explainer", "DecamError", "Cancelled", "Status", "Stats", "Metrics", "Progress",
           "PARAMS", "version", "pointing", "rank_correlation", "load_image", "resize",
           "render_panel", "save_image", "overlay", "quantus_explain", "LIBRARY_PATH",
           "Detection", "Similarity", "Region", "DetectionLayout", "DenseLayout"]


def version():
    """The version of the loaded library, "MAJOR.MINOR.PATCH"."""
    return _binding._lib.decam_version_string().decode()
