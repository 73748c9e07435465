"""Adapters to the conventions of other tools.

quantus_explain()  an `explain_func` for Quantus's metrics

(overlay(), a map over its image as pytorch-grad-cam's show_cam_on_image()
draws it, is in render.py with the other drawing.)
"""
import numpy as np

from ._binding import DecamError, Status
from .explainer import Explainer
from .inputs import _is_tensor, _real_array


def _torch_scorer(module, device, softmax):
    import torch

    def score(batch):  # (n, C, H, W) float32 NumPy, read-only
        x = torch.from_numpy(np.array(batch, copy=True)).to(device)
        with torch.no_grad():
            out = module(x)
            if softmax:
                out = torch.softmax(out, dim=1)
        return out.detach().cpu().numpy()
    return score


def _module_device(module):
    try:
        return next(module.parameters()).device
    except (StopIteration, AttributeError):
        return "cpu"


def quantus_explain(model, inputs, targets, *, device=None, softmax=True, channel_first=True,
                    **params):
    """An explain_func for Quantus (its metrics call
    explain_func(model=model, inputs=x_batch, targets=y_batch, **explain_func_kwargs)):

        metric = quantus.Faithfulness...(...)
        metric(model=net, x_batch=x, y_batch=y, a_batch=None, device="cpu",
               explain_func=decam.quantus_explain,
               explain_func_kwargs={"budget": 500, "seed": 0})

    model     what Quantus passes: the torch nn.Module, called as it is
              (put it in eval mode, as Quantus's own explainers do) under
              torch.no_grad() on `device`; or any callable from a float32
              NumPy batch (n, C, H, W) to scores (n, k)
    inputs    NumPy (N, C, H, W) as Quantus passes them (channel_first=False:
              (N, H, W, C)); any real dtype
    targets   one class per image: an array or list of N ints, or one int
    device    where the module's inputs go ("cpu", "cuda", a torch.device);
              default the device of its parameters. Quantus adds it to the
              keyword arguments when the metric is given device=.
    softmax   apply a softmax to the module's outputs (the default: DE-CAM's
              defaults are set for probabilities); False when the module
              ends in one already, or for callables (not applied to them)
    **params  libdecam parameters by name (budget=500, seed=0,
              method="rise", ...), as for Explainer

    Returns the maps as a NumPy float32 array (N, 1, H, W) in [0, 1]
    (Quantus's expand_attribution_channel() accepts it as it is)."""
    if _is_tensor(inputs):
        inputs = inputs.detach().cpu().numpy()
    x = _real_array(inputs, "inputs", (4,))
    if not channel_first:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    n = x.shape[0]
    y = targets.detach().cpu().numpy() if _is_tensor(targets) else np.asarray(targets)
    if y.dtype.kind not in "iu":
        raise TypeError(f"targets must be integers (class indices), not {y.dtype} values")
    if y.ndim == 0:
        y = np.full(n, y.item())
    y = y.reshape(-1)
    if y.size != n:
        raise ValueError(f"{y.size} targets for {n} inputs: give one class per input")
    torch_module = type(model).__module__.startswith("torch") and hasattr(model, "parameters")
    if torch_module:
        scorer = _torch_scorer(model, device or _module_device(model), softmax)
    elif callable(model):
        scorer = model
    else:
        raise TypeError(f"model must be a torch nn.Module or a callable, not "
                        f"{type(model).__name__}")
    if "layout" in params and params["layout"] not in ("chw", 1):
        raise DecamError(Status.OUT_OF_RANGE, "quantus_explain hands the model (n, C, H, W) "
                         "batches: layout is 'chw'", "quantus_explain")
    params["layout"] = "chw"
    with Explainer(scorer, **params) as ex:
        maps = ex.explain(x, targets=[int(t) for t in y])
    return maps[:, None]
