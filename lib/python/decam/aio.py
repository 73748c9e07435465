"""Explainer.explain_async(): the run of explain() with an awaited model.

    async def model(batch):                # e.g. a request to an inference server
        return await client.score(batch)

    maps = await asyncio.gather(*(ex.explain_async(img, model) for img in images))

One C context hosts one run, so each call runs in a private explainer made
from this one's parameter table (every parameter, read with
decam_get_param and set again), its baseline image and prior map, and its
progress and log settings. The library's work between two model calls
(decam_tell, decam_ask) runs on the event loop's thread; what overlaps is
the model's latency.
"""
import inspect

from . import _run
from ._binding import _LOG_LEVELS, PARAMS
from .explainer import Explainer


def _clone(ex, model):
    """A new explainer with the parameters and inputs of `ex`, for `model`."""
    clone = Explainer(model, progress=ex.progress, log=ex.log,
                      log_level=_LOG_LEVELS[ex._log_level])
    try:
        for name in PARAMS:
            clone._set(name, ex._get(name))
        clone._k = ex._k  # _set("n_outputs") assumed it known
        if ex._inputs.get("baseline") is not None:
            clone.set_baseline_image(ex._inputs["baseline"])
        if ex._inputs.get("prior") is not None:
            clone.set_prior_map(ex._inputs["prior"])
    except BaseException:
        clone.close()
        raise
    return clone


async def _drive(gen, model):
    """decam._run.drive() with the model awaited (a plain callable's result
    is used as it is)."""
    try:
        request = next(gen)
        while True:
            try:
                result = model(request)
                if inspect.isawaitable(result):
                    result = await result
            except BaseException as e:  # asyncio.CancelledError too: the run is abandoned
                gen.throw(e)
                raise AssertionError("unreachable: the run re-raises") from e
            request = gen.send(result)
    except StopIteration as stop:
        return stop.value


async def explain_async(ex, images, model, targets=None):
    """See Explainer.explain_async()."""
    if not callable(model):
        raise TypeError(f"model must be callable (an async def), not {type(model).__name__}")
    with ex._lock:
        ex._live("explain_async")
        clone = _clone(ex, model)
        ex._clones.add(clone)
    try:
        with clone._call("explain_async"):
            batch = _run.Images(images, clone._get("layout") == "chw")
            clone._device = batch.device
            return await _drive(_run.steps(clone, batch, targets), model)
    finally:
        with ex._lock:
            ex._clones.discard(clone)
        clone.close()
